import { createHash, randomUUID } from 'node:crypto';
import type { Request } from 'express';
import { IdempotencyConflictError } from '../transport/errors';
import { AppError } from './errors';

export const IDEMPOTENCY_HEADER = 'idempotency-key';
const KEY = /^[A-Za-z0-9._:-]{1,100}$/;

/**
 * Where a created thing's id is derived within: a post's key and a comment's key make different
 * ids, and the same key on two posts makes two comments.
 */
export const ID_SCOPES = {
  post: 'post',
  comment: (postId: string) => `comment:${postId}`,
} as const;

/**
 * The id of the thing a request creates. With an `Idempotency-Key` header the id is derived from
 * the key (within `scope`, one of `ID_SCOPES`), so a client that lost the answer can send the same
 * request again: the event gets the same id and the bus stores it once. Without one, every request
 * creates anew.
 */
export function idFromRequest(req: Request, scope: string): string {
  const key = req.header(IDEMPOTENCY_HEADER);
  if (key === undefined) return randomUUID();
  if (!KEY.test(key)) {
    throw new AppError(400, `${IDEMPOTENCY_HEADER}: must be 1 to 100 letters, digits, '.', '_', ':' or '-'`, {
      [IDEMPOTENCY_HEADER]: "must be 1 to 100 letters, digits, '.', '_', ':' or '-'",
    });
  }
  return idFromKey(scope, key);
}

/**
 * The id a request with this `Idempotency-Key` creates: a client that sets the key knows the id
 * before the answer comes (the load generator finds its comments on the live stream by it).
 */
export function idFromKey(scope: string, key: string): string {
  const hex = createHash('sha256').update(`${scope}\n${key}`).digest('hex');
  // Shaped as a UUID (version 8, "custom"), like the ids made without a key.
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16)}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/**
 * Runs a publish for a request; an event id stored before with other data (the request's
 * `Idempotency-Key` reused for another body) becomes a 422 that names the key. Nothing new is
 * stored and the first request's result stands, as the IETF Idempotency-Key draft and Stripe have it.
 */
export async function publishForRequest<T>(req: Request, publish: () => Promise<T>): Promise<T> {
  try {
    return await publish();
  } catch (err) {
    if (err instanceof IdempotencyConflictError) throw reusedKeyError(req);
    throw err;
  }
}

/** The 422 for a request whose `Idempotency-Key` was used before with another body. */
export function reusedKeyError(req: Request): AppError {
  const rule =
    'was used before with a different request body; the first request stands (send a new key for a new request)';
  return new AppError(422, `${IDEMPOTENCY_HEADER}: ${req.header(IDEMPOTENCY_HEADER) ?? ''} ${rule}`, {
    [IDEMPOTENCY_HEADER]: rule,
  });
}
