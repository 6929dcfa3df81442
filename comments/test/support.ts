import request from 'supertest';

/** `POST /posts/:postId/comments` with this content and Idempotency-Key, as the comment form sends it. */
export const postComment = (
  app: Parameters<typeof request>[0],
  postId: string,
  content: string,
  idempotencyKey: string,
): request.Test =>
  request(app).post(`/posts/${postId}/comments`).set('idempotency-key', idempotencyKey).send({ content });
