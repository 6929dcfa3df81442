import {
  createEventService,
  ID_SCOPES,
  idFromRequest,
  parseBody,
  parseOrThrow,
  publishForRequest,
  type EventServiceDeps,
  type EventServiceParts,
} from '@mini-blog/common/service';
import { createPostSchema, pageQuerySchema, postCreated, postsPage, type PostsModel } from './domain';
import { postsProjection } from './projection';

export type PostsDeps = EventServiceDeps;

export type PostsService = EventServiceParts<PostsModel>;

export function createApp({ bus, ...deps }: PostsDeps): PostsService {
  return createEventService({
    ...deps,
    name: 'posts',
    bus,
    projection: postsProjection,
    routes: (app, { projection }) => {
      // 201 only once PostCreated is in the log: from then on every service can learn of the post.
      app.post('/posts/create', async (req, res) => {
        const { title } = parseBody(req, createPostSchema);
        const post = { id: idFromRequest(req, ID_SCOPES.post), title };
        // The same Idempotency-Key with another title is a 422: the post first created stands.
        await publishForRequest(req, () => bus.publish(postCreated(post)));
        res.status(201).json(post);
      });

      // The course's posts map `{[id]: {id, title}}`, a page at a time (oldest first); the next
      // page's URL is in the Link header, so a course client that reads the body alone still works.
      app.get('/posts', (req, res) => {
        const { limit, cursor } = parseOrThrow(pageQuerySchema, req.query, 'query');
        const { posts, nextCursor } = postsPage(projection.model, limit, cursor);
        if (nextCursor !== null) res.set('link', `</posts?limit=${limit}&cursor=${nextCursor}>; rel="next"`);
        res.json(Object.fromEntries(posts.map((post) => [post.id, post])));
      });
    },
  });
}
