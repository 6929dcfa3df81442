import {
  assertNever,
  MAX_TITLE_LENGTH,
  userTextSchema,
  type Envelope,
  type Handled,
  type NewEvent,
  type PostCreated,
} from '@mini-blog/common';
import { z } from 'zod';

export const createPostSchema = z.object({
  title: userTextSchema(MAX_TITLE_LENGTH),
});

export type Post = PostCreated;

export interface PostsState {
  readonly posts: Map<string, Post>;
  /** The posts in log order, with the seq of their PostCreated: the pages' order and cursor. */
  readonly order: { readonly seq: number; readonly post: Post }[];
}

export function createState(): PostsState {
  return { posts: new Map(), order: [] };
}

export const MAX_PAGE_SIZE = 1000;

/** `GET /posts`'s query: a page size and, for the pages after the first, the cursor the previous one gave. */
export const pageQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(100),
  cursor: z.coerce.number().int().positive().optional(),
});

/** Up to `limit` posts, oldest first, created after `cursor` (a seq); `nextCursor` when more follow. */
export function postsPage(state: PostsState, limit: number, cursor = 0): { posts: Post[]; nextCursor: number | null } {
  const { order } = state;
  let low = 0;
  let high = order.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (order[mid]!.seq <= cursor) low = mid + 1;
    else high = mid;
  }
  const page = order.slice(low, low + limit);
  return {
    posts: page.map((entry) => entry.post),
    nextCursor: low + limit < order.length ? page[page.length - 1]!.seq : null,
  };
}

/** The event that records a new post; its id is derived from the post's, so a retry stores it once. */
export function postCreated(post: Post): NewEvent<'PostCreated'> {
  return { type: 'PostCreated', id: `PostCreated:${post.id}`, data: post };
}

export function apply(state: PostsState, event: Envelope<Handled<'posts'>>): void {
  switch (event.type) {
    case 'PostCreated':
      if (!state.posts.has(event.data.id)) {
        const post = { id: event.data.id, title: event.data.title };
        state.posts.set(post.id, post);
        // Applied in log order, so appending keeps `order` sorted by seq.
        state.order.push({ seq: event.seq, post });
      }
      return;
    default:
      assertNever(event.type);
  }
}
