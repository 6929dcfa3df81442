import { MAX_TITLE_LENGTH, userTextSchema, type NewEvent, type PostCreated } from '@mini-blog/common/events';
import { z } from 'zod';

export const createPostSchema = z.object({
  title: userTextSchema(MAX_TITLE_LENGTH),
});

export type Post = PostCreated;

/**
 * posts' projection of the log (its table, its write and its reducer: `projection.ts`), as its
 * routes read it: every post, in log order. Its only reader is `GET /posts` on posts' own port;
 * creating a post reads nothing.
 */
export interface PostsModel {
  /** Up to `limit` posts created after `after` (a seq), oldest first, each with the seq of its PostCreated. */
  page(after: number, limit: number): (Post & { readonly seq: number })[];
}

export const MAX_PAGE_SIZE = 1000;

/** `GET /posts`'s query: a page size and, for the pages after the first, the cursor the previous one gave. */
export const pageQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(100),
  cursor: z.coerce.number().int().positive().optional(),
});

/** Up to `limit` posts, oldest first, created after `cursor` (a seq); `nextCursor` when more follow. */
export function postsPage(model: PostsModel, limit: number, cursor = 0): { posts: Post[]; nextCursor: number | null } {
  // One more than asked tells whether another page follows.
  const rows = model.page(cursor, limit + 1);
  const page = rows.slice(0, limit);
  return {
    posts: page.map(({ id, title }) => ({ id, title })),
    nextCursor: rows.length > limit ? page[page.length - 1]!.seq : null,
  };
}

/** The event that records a new post; its id is derived from the post's, so a retry stores it once. */
export function postCreated(post: Post): NewEvent<'PostCreated'> {
  return { type: 'PostCreated', id: `PostCreated:${post.id}`, data: post };
}
