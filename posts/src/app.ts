import { createEventService, idFromRequest, parseBody, type EventServiceDeps, type EventServiceParts } from '@mini-blog/common';
import { apply, createPostSchema, createState, postCreated, type PostsState } from './domain';

export type PostsDeps = EventServiceDeps;

export interface PostsService extends EventServiceParts {
  readonly state: PostsState;
}

export function createApp({ bus, logger, corsOrigins }: PostsDeps): PostsService {
  const state = createState();
  const { app, consumer } = createEventService({
    name: 'posts',
    bus,
    logger,
    corsOrigins,
    apply: (event) => apply(state, event),
    routes: (app) => {
      // 201 only once PostCreated is in the log: from then on every service can learn of the post.
      app.post('/posts/create', async (req, res) => {
        const { title } = parseBody(req, createPostSchema);
        const post = { id: idFromRequest(req, 'post'), title };
        await bus.publish(postCreated(post));
        res.status(201).json(post);
      });

      app.get('/posts', (_req, res) => {
        res.json(Object.fromEntries(state.posts));
      });
    },
  });
  return { app, consumer, state };
}
