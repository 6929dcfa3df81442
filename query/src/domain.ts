import { assertNever, type CommentStatus, type Envelope, type Handled, type PublicPost } from '@mini-blog/common';
import type { PostCache } from './post-cache';

/**
 * The read model joins posts and comments. It converges to the same state whatever order the events
 * come in, and however often: a comment may come before its post, an update before its creation.
 * - A comment whose post is unknown waits, listed by no answer, until the post's PostCreated arrives.
 * - A decided status (approved, rejected) outranks pending; between two decisions, or two events of
 *   the same rank, the one later in the log wins.
 * - Comments are listed in the order of their CommentCreated in the log, whichever event came first.
 * - A post is its first PostCreated (the lowest seq), should a course-style publisher send another.
 * - A post's version is the seq of the last event that changed it or its comments.
 */

export interface CommentData {
  readonly id: string;
  readonly postId: string;
  readonly content: string;
  readonly status: CommentStatus;
}

/** A page of the feed: each post's public JSON, newest first, and the cursor of the next page. */
export interface FeedPageJson {
  readonly posts: readonly string[];
  readonly nextCursor: number | null;
}

/** A page of the course's map: its entries as JSON text (`"id":{...}` joined by commas). */
export interface MapPage {
  readonly text: string;
  readonly count: number;
  /** The createdSeq of the last post on the page: the next page starts after it. */
  readonly last: number;
}

/**
 * The read model over one open database (`projection.ts`): the writes the reducer makes, each
 * keeping the rules above whatever order they come in, and the reads the routes use.
 */
export interface QueryModel {
  /** A PostCreated; true when it made the post, or changed it (an earlier PostCreated of a post already stored). */
  createPost(seq: number, id: string, title: string): boolean;
  /** A comment event: its CommentCreated (`created`), or a verdict or an update. */
  applyComment(seq: number, comment: CommentData, created: boolean): void;
  /** The post as every public answer shows it, as JSON; undefined for a post that is not created. */
  postJson(id: string): string | undefined;
  post(id: string): PublicPost | undefined;
  /** Newest first, starting below `before` (a createdSeq). */
  feedPage(limit: number, before?: number): FeedPageJson;
  /** The course map's entries of at most `limit` posts created after `after`, oldest first. */
  mapPage(after: number, limit: number): MapPage;
  /** Created posts. */
  postCount(): number;
  readonly cache: PostCache;
}

/** Applies one event; returns the id of the post whose public view it may have changed, if any. */
export function apply(model: QueryModel, event: Envelope<Handled<'query'>>): string | undefined {
  switch (event.type) {
    case 'PostCreated':
      return model.createPost(event.seq, event.data.id, event.data.title) ? event.data.id : undefined;
    case 'CommentCreated':
      model.applyComment(event.seq, event.data, true);
      return event.data.postId;
    case 'CommentModerated':
    case 'CommentUpdated':
      model.applyComment(event.seq, event.data, false);
      return event.data.postId;
    default:
      return assertNever(event);
  }
}
