import type { PublicPost } from '@mini-blog/common/events';
import { z } from 'zod';
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
 *
 * Each rule is kept by the SQL of a write, so the reducer and its writes are in `projection.ts`
 * with the tables; this file has what the routes read.
 */

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

/** The read model as the routes read it, over one open database (`projection.ts`). */
export interface QueryModel {
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

export const MAX_PAGE_SIZE = 100;

/** `GET /posts/feed`'s query: a page size and, for the pages after the first, the cursor the previous one gave. */
export const feedQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(20),
  cursor: z.coerce.number().int().positive().optional(),
});
