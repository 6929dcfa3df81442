import {
  AppError,
  createEventService,
  idFromRequest,
  MAX_COMMENTS_PER_POST,
  parseBody,
  parseOrThrow,
  toPublicComment,
  type EventServiceDeps,
  type EventServiceParts,
} from '@mini-blog/common';
import { apply, commentCreated, commentsOf, createCommentSchema, createState, postIdSchema, type CommentsState } from './domain';

export type CommentsDeps = EventServiceDeps;

export interface CommentsService extends EventServiceParts {
  readonly state: CommentsState;
}

export function createApp({ bus, logger, corsOrigins }: CommentsDeps): CommentsService {
  const state = createState();
  const { app, consumer } = createEventService({
    name: 'comments',
    bus,
    logger,
    corsOrigins,
    apply: (event) => apply(state, event),
    routes: (app) => {
      app.post('/posts/:id/comments', async (req, res) => {
        const postId = parseOrThrow(postIdSchema, req.params.id, 'id');
        const { content } = parseBody(req, createCommentSchema);
        // A post answered 201 a moment ago is in the log even if its event is still on its way here.
        if (!state.posts.has(postId)) await consumer.syncToHead();
        if (!state.posts.has(postId)) throw new AppError(404, `post ${postId}: not found`);
        const existing = commentsOf(state, postId);
        if (existing.length >= MAX_COMMENTS_PER_POST) {
          throw new AppError(409, `post ${postId}: has reached the limit of ${MAX_COMMENTS_PER_POST} comments`);
        }
        const comment = { id: idFromRequest(req, `comment:${postId}`), postId, content };
        await bus.publish(commentCreated(comment));
        // A repeated request (same Idempotency-Key) may find its comment already applied here.
        const answered = existing.some((known) => known.id === comment.id) ? existing : [...existing, { ...comment, status: 'pending' as const }];
        res.status(201).json(answered.map(toPublicComment));
      });

      app.get('/posts/:id/comments', (req, res) => {
        const postId = parseOrThrow(postIdSchema, req.params.id, 'id');
        res.json(commentsOf(state, postId).map(toPublicComment));
      });
    },
  });
  return { app, consumer, state };
}
