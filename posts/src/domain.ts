import { assertNever, MAX_TITLE_LENGTH, userTextSchema, type Envelope, type Handled, type NewEvent, type PostCreated } from '@mini-blog/common';
import { z } from 'zod';

export const createPostSchema = z.object({
  title: userTextSchema(MAX_TITLE_LENGTH),
});

export type Post = PostCreated;

export interface PostsState {
  readonly posts: Map<string, Post>;
}

export function createState(): PostsState {
  return { posts: new Map() };
}

/** The event that records a new post; its id is derived from the post's, so a retry stores it once. */
export function postCreated(post: Post): NewEvent<'PostCreated'> {
  return { type: 'PostCreated', id: `PostCreated:${post.id}`, data: post };
}

export function apply(state: PostsState, event: Envelope<Handled<'posts'>>): void {
  switch (event.type) {
    case 'PostCreated':
      if (!state.posts.has(event.data.id)) state.posts.set(event.data.id, { id: event.data.id, title: event.data.title });
      return;
    default:
      assertNever(event.type);
  }
}
