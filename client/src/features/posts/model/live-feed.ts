import type { FeedPage, PostChange, PublicComment, PublicPost } from '@mini-blog/common/events';

/**
 * The feed as this browser knows it, built from feed pages, live changes and the answers to its
 * own requests. Every input carries whole post snapshots with a `version` (the log position of the
 * post's last change), so applying the newest version wins and the same input applied twice, or
 * late, changes nothing: any arrival order converges to the same posts.
 */
export interface LiveFeedState {
  /** Post ids, newest first. */
  readonly order: readonly string[];
  readonly entries: Readonly<Record<string, FeedEntry>>;
  readonly nextCursor: string | null;
  /** True once a first page arrived: before that, an empty feed means "not known yet". */
  readonly loaded: boolean;
}

export interface FeedEntry {
  readonly post: PublicPost;
  /** The stream position of the last change applied to this post; 0 when it came from a page. */
  readonly seenAt: number;
  /**
   * Comments this browser just added, from the comments service's answer, that no snapshot shows
   * yet: the query service may apply them a moment later, and they must not blink out meanwhile.
   */
  readonly unconfirmed: readonly PublicComment[];
}

export type LiveFeedAction =
  | { readonly type: 'pageLoaded'; readonly page: FeedPage }
  | { readonly type: 'resynced'; readonly page: FeedPage; readonly position: number }
  | { readonly type: 'changed'; readonly change: PostChange }
  | { readonly type: 'postCreated'; readonly post: { readonly id: string; readonly title: string } }
  | { readonly type: 'commentsAnswered'; readonly postId: string; readonly comments: readonly PublicComment[] };

export const initialLiveFeed: LiveFeedState = { order: [], entries: {}, nextCursor: null, loaded: false };

/** Versions are log positions (1, 2, ...): a post known only from this browser's own request is older than any. */
const UNLOGGED_VERSION = 0;
/** ...and, being just created, newer than any post in the log. */
const NOT_YET_LOGGED = Number.MAX_SAFE_INTEGER;

/** The order with a post the browser has not seen put where its creation places it, newest first. */
function insertByCreation(state: LiveFeedState, post: PublicPost): string[] {
  const index = state.order.findIndex((id) => state.entries[id]!.post.createdSeq < post.createdSeq);
  return index === -1
    ? [...state.order, post.id]
    : [...state.order.slice(0, index), post.id, ...state.order.slice(index)];
}

function withSnapshot(entry: FeedEntry | undefined, post: PublicPost, seenAt: number): FeedEntry {
  if (entry && entry.post.version >= post.version) return entry;
  const shown = new Set(post.comments.map((comment) => comment.id));
  return {
    post,
    seenAt: Math.max(entry?.seenAt ?? 0, seenAt),
    unconfirmed: (entry?.unconfirmed ?? []).filter((comment) => !shown.has(comment.id)),
  };
}

function mergePage(state: LiveFeedState, posts: readonly PublicPost[]): Pick<LiveFeedState, 'order' | 'entries'> {
  const entries = { ...state.entries };
  const order = [...state.order];
  for (const post of posts) {
    if (!entries[post.id]) order.push(post.id);
    entries[post.id] = withSnapshot(entries[post.id], post, 0);
  }
  return { order, entries };
}

export function liveFeedReducer(state: LiveFeedState, action: LiveFeedAction): LiveFeedState {
  switch (action.type) {
    case 'pageLoaded':
      return { ...state, ...mergePage(state, action.page.posts), nextCursor: action.page.nextCursor, loaded: true };

    case 'resynced': {
      // The page holds every change up to `position`; what the stream brought after it is newer
      // than the page may be, and what this browser created may not be in the read model yet.
      const kept = state.order.filter((id) => {
        const entry = state.entries[id]!;
        return entry.seenAt > action.position || entry.post.version === UNLOGGED_VERSION;
      });
      const base: LiveFeedState = {
        order: kept,
        entries: Object.fromEntries(kept.map((id) => [id, state.entries[id]!])),
        nextCursor: null,
        loaded: true,
      };
      return { ...base, ...mergePage(base, action.page.posts), nextCursor: action.page.nextCursor };
    }

    case 'changed': {
      const { post, seq } = action.change;
      const entry = state.entries[post.id];
      // A post older than the pages loaded so far will come with its page, complete.
      if (!entry && state.nextCursor !== null && post.createdSeq < Number(state.nextCursor)) return state;
      const next = withSnapshot(entry, post, seq);
      if (next === entry) return state;
      return {
        ...state,
        order: entry ? state.order : insertByCreation(state, post),
        entries: { ...state.entries, [post.id]: next },
      };
    }

    case 'postCreated': {
      if (state.entries[action.post.id]) return state;
      const post: PublicPost = { ...action.post, createdSeq: NOT_YET_LOGGED, version: UNLOGGED_VERSION, comments: [] };
      return {
        ...state,
        order: [post.id, ...state.order],
        entries: { ...state.entries, [post.id]: { post, seenAt: 0, unconfirmed: [] } },
      };
    }

    case 'commentsAnswered': {
      const entry = state.entries[action.postId];
      if (!entry) return state;
      const known = new Set([...entry.post.comments, ...entry.unconfirmed].map((comment) => comment.id));
      const added = action.comments.filter((comment) => !known.has(comment.id));
      if (added.length === 0) return state;
      return {
        ...state,
        entries: { ...state.entries, [action.postId]: { ...entry, unconfirmed: [...entry.unconfirmed, ...added] } },
      };
    }
  }
}

/** The posts to show, newest first, each with its comments in the order they were made. */
export function visiblePosts(state: LiveFeedState): PublicPost[] {
  return state.order.map((id) => {
    const { post, unconfirmed } = state.entries[id]!;
    return unconfirmed.length === 0 ? post : { ...post, comments: [...post.comments, ...unconfirmed] };
  });
}
