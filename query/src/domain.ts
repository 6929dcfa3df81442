import {
  assertNever,
  toPublicComment,
  type CommentStatus,
  type Envelope,
  type Handled,
  type PublicPost,
} from '@mini-blog/common';

/**
 * The read model joins posts and comments. It converges to the same state whatever order the events
 * come in, and however often: a comment may come before its post, an update before its creation.
 * - A comment whose post is unknown waits on a placeholder post that no answer lists until the
 *   post's PostCreated arrives.
 * - A decided status (approved, rejected) outranks pending; between two decisions, or two events of
 *   the same rank, the one later in the log wins.
 * - Comments are listed in the order of their CommentCreated in the log, whichever event came first.
 */

export interface ReadComment {
  readonly id: string;
  content: string;
  status: CommentStatus;
  /** The seq of the event that set the status. */
  statusSeq: number;
  /** The seq of CommentCreated, or of the first event seen until CommentCreated arrives. */
  order: number;
  created: boolean;
}

export interface ReadPost {
  readonly id: string;
  /** Undefined while only comments of the post are known. */
  title: string | undefined;
  /** The seq of PostCreated: the feed's order and cursor. */
  createdSeq: number;
  /** The seq of the last event that changed the post or its comments. */
  version: number;
  comments: Map<string, ReadComment>;
  /** Set when a comment came out of order; the next read sorts the comments once. */
  unsorted: boolean;
  lastOrder: number;
  /** The public JSON of the post as it is now, once asked for; every change clears it. */
  json: string | undefined;
}

export interface QueryState {
  readonly posts: Map<string, ReadPost>;
  /** Created posts, oldest first (by createdSeq). */
  readonly feed: ReadPost[];
}

export function createState(): QueryState {
  return { posts: new Map(), feed: [] };
}

const rank = (status: CommentStatus): number => (status === 'pending' ? 0 : 1);

function postFor(state: QueryState, id: string): ReadPost {
  let post = state.posts.get(id);
  if (!post) {
    post = {
      id,
      title: undefined,
      createdSeq: 0,
      version: 0,
      comments: new Map(),
      unsorted: false,
      lastOrder: 0,
      json: undefined,
    };
    state.posts.set(id, post);
  }
  return post;
}

/** Inserts by createdSeq; in the usual in-order stream this is an append. */
function addToFeed(feed: ReadPost[], post: ReadPost): void {
  let index = feed.length;
  while (index > 0 && feed[index - 1]!.createdSeq > post.createdSeq) index -= 1;
  feed.splice(index, 0, post);
}

function applyComment(
  state: QueryState,
  seq: number,
  data: { id: string; postId: string; content: string; status: CommentStatus },
  isCreation: boolean,
): ReadPost {
  const post = postFor(state, data.postId);
  const comment = post.comments.get(data.id);
  if (!comment) {
    if (seq < post.lastOrder) post.unsorted = true;
    post.lastOrder = Math.max(post.lastOrder, seq);
    post.comments.set(data.id, {
      id: data.id,
      content: data.content,
      status: data.status,
      statusSeq: seq,
      order: seq,
      created: isCreation,
    });
    return post;
  }
  if (isCreation && !comment.created) {
    comment.created = true;
    comment.order = seq;
    post.unsorted = true;
    post.lastOrder = Math.max(post.lastOrder, seq);
  }
  if (
    rank(data.status) > rank(comment.status) ||
    (rank(data.status) === rank(comment.status) && seq > comment.statusSeq)
  ) {
    comment.status = data.status;
    comment.content = data.content;
    comment.statusSeq = seq;
  }
  return post;
}

/** Applies one event and returns the post it changed, if that post is visible. */
export function apply(state: QueryState, event: Envelope<Handled<'query'>>): ReadPost | undefined {
  let post: ReadPost;
  switch (event.type) {
    case 'PostCreated': {
      post = postFor(state, event.data.id);
      if (post.title !== undefined) return undefined;
      post.title = event.data.title;
      post.createdSeq = event.seq;
      addToFeed(state.feed, post);
      break;
    }
    case 'CommentCreated':
      post = applyComment(state, event.seq, event.data, true);
      break;
    case 'CommentModerated':
    case 'CommentUpdated':
      post = applyComment(state, event.seq, event.data, false);
      break;
    default:
      return assertNever(event);
  }
  post.version = Math.max(post.version, event.seq);
  post.json = undefined;
  return post.title === undefined ? undefined : post;
}

/** The post's comments in creation order. */
export function commentsOf(post: ReadPost): Iterable<ReadComment> {
  if (post.unsorted) {
    post.comments = new Map(
      [...post.comments.values()].sort((a, b) => a.order - b.order).map((comment) => [comment.id, comment]),
    );
    post.unsorted = false;
  }
  return post.comments.values();
}

export function toPublicPost(post: ReadPost): PublicPost {
  return {
    id: post.id,
    title: post.title ?? '',
    createdSeq: post.createdSeq,
    version: post.version,
    comments: Array.from(commentsOf(post), toPublicComment),
  };
}

/**
 * The post as every public answer shows it, as JSON, serialised once per change: the feed and the
 * live stream ask far more often than posts change, and a post with many comments is most of a page.
 */
export function publicPostJson(post: ReadPost): string {
  post.json ??= JSON.stringify(toPublicPost(post));
  return post.json;
}

/** A page of the feed, newest first, starting below `before` (a createdSeq). */
export function feedPage(
  state: QueryState,
  limit: number,
  before?: number,
): { posts: ReadPost[]; nextCursor: number | null } {
  const { feed } = state;
  let end = feed.length;
  if (before !== undefined) {
    let low = 0;
    let high = feed.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (feed[mid]!.createdSeq < before) low = mid + 1;
      else high = mid;
    }
    end = low;
  }
  const start = Math.max(0, end - limit);
  const posts = feed.slice(start, end).reverse();
  return { posts, nextCursor: start > 0 ? posts[posts.length - 1]!.createdSeq : null };
}
