import { MAX_COMMENTS_PER_POST, toPublicComment } from '@mini-blog/common/events';
import {
  AppError,
  createEventService,
  ID_SCOPES,
  idFromRequest,
  parseBody,
  parseOrThrow,
  publishForRequest,
  reusedKeyError,
  type EventServiceDeps,
  type EventServiceParts,
} from '@mini-blog/common/service';
import { BusUnavailableError, ConflictError } from '@mini-blog/common/transport';
import type { Request } from 'express';
import { commentCreated, createCommentSchema, postIdSchema, type CommentsModel } from './domain';
import { PerKeyQueue } from './per-key-queue';
import { commentsProjection } from './projection';

/** Requests waiting for one post at most: well above a burst of comments on a busy post. */
export const MAX_QUEUED_PER_POST = 200;
/** Conditional publishes one request tries when other replicas keep adding comments first. */
export const MAX_PUBLISH_ATTEMPTS = 20;

export type CommentsDeps = EventServiceDeps;

export interface CommentsService extends EventServiceParts<CommentsModel> {
  /** New comments waiting in turn, per post (`post <id>`). */
  readonly commentQueue: PerKeyQueue;
}

export function createApp({ bus, ...deps }: CommentsDeps): CommentsService {
  const perPost = new PerKeyQueue(MAX_QUEUED_PER_POST);
  /** When a publish last found the bus unavailable. */
  let busFailedAt = Number.NEGATIVE_INFINITY;

  /**
   * Publishes a new comment unless the post has reached its limit, exactly under concurrency: the
   * publish is conditional on the post's newest comment being the one counted from. When another
   * replica added one first, this one reads the log up to it, counts again and tries again.
   */
  async function addComment(
    req: Request,
    comment: { id: string; postId: string; content: string },
    queuedAt: number,
  ): Promise<void> {
    // Requests that waited in turn while the bus failed would each wait out the bus client's
    // retries again, one after another: they are answered at once instead, having sent nothing.
    if (busFailedAt >= queuedAt) throw new BusUnavailableError('it failed a request that came before this one');
    const { postId } = comment;
    let expectedLastSeq = projection.model.lastKeyedSeq(postId);
    let synced = false;
    for (let attempt = 1; ; attempt += 1) {
      const known = projection.model.comment(comment.id);
      // A retry (same Idempotency-Key) of a comment already stored: it stays as it is.
      if (known) {
        if (known.postId !== postId || known.content !== comment.content) throw reusedKeyError(req);
        return;
      }
      if (projection.model.commentCount(postId) >= MAX_COMMENTS_PER_POST) {
        // Before refusing, read the log: this may be a retry of a comment stored but not yet delivered here.
        if (!synced) {
          await consumer.syncToHead();
          synced = true;
          continue;
        }
        throw new AppError(409, `post ${postId}: has reached the limit of ${MAX_COMMENTS_PER_POST} comments`);
      }
      try {
        await publishForRequest(req, () => bus.publish(commentCreated(comment), { expectedLastSeq }));
        return;
      } catch (err) {
        if (err instanceof BusUnavailableError) busFailedAt = performance.now();
        if (!(err instanceof ConflictError)) throw err;
        if (attempt >= MAX_PUBLISH_ATTEMPTS)
          throw new AppError(503, `post ${postId}: too many comments are being added at once; try again in a moment`);
        await consumer.syncToHead();
        synced = true;
        expectedLastSeq = Math.max(err.lastSeq, projection.model.lastKeyedSeq(postId));
      }
    }
  }

  const service = createEventService({
    ...deps,
    name: 'comments',
    bus,
    projection: commentsProjection,
    routes: (app) => {
      app.post('/posts/:id/comments', async (req, res) => {
        const postId = parseOrThrow(postIdSchema, req.params.id, 'id');
        const { content } = parseBody(req, createCommentSchema);
        const comment = { id: idFromRequest(req, ID_SCOPES.comment(postId)), postId, content };
        // A post answered 201 a moment ago is in the log even if its event is still on its way here.
        if (!projection.model.hasPost(postId)) await consumer.syncToHead();
        if (!projection.model.hasPost(postId)) throw new AppError(404, `post ${postId}: not found`);
        // One request per post at a time in this process: concurrent ones would only make each
        // other's conditional publish fail. Other replicas are kept out by the condition itself.
        const queuedAt = performance.now();
        await perPost.run(`post ${postId}`, () => addComment(req, comment, queuedAt));
        const listed = projection.model.commentsOf(postId);
        // Applied here already, or only in the log so far.
        const answered = listed.some((known) => known.id === comment.id)
          ? listed
          : [...listed, { ...comment, status: 'pending' as const }];
        res.status(201).json(answered.map(toPublicComment));
      });

      app.get('/posts/:id/comments', (req, res) => {
        const postId = parseOrThrow(postIdSchema, req.params.id, 'id');
        res.json(projection.model.commentsOf(postId).map(toPublicComment));
      });
    },
  });
  // What addComment and the routes read and wait on (only once a request comes, after this line).
  const { projection, consumer } = service;
  return { ...service, commentQueue: perPost };
}
