import { createHash, randomUUID } from 'node:crypto';
import type { Request } from 'express';
import { AppError } from './errors';

export const IDEMPOTENCY_HEADER = 'idempotency-key';
const KEY = /^[A-Za-z0-9._:-]{1,100}$/;

/**
 * The id of the thing a request creates. With an `Idempotency-Key` header the id is derived from
 * the key (within `scope`), so a client that lost the answer can send the same request again: the
 * event gets the same id and the bus stores it once. Without one, every request creates anew.
 */
export function idFromRequest(req: Request, scope: string): string {
  const key = req.header(IDEMPOTENCY_HEADER);
  if (key === undefined) return randomUUID();
  if (!KEY.test(key)) {
    throw new AppError(400, `${IDEMPOTENCY_HEADER}: must be 1 to 100 letters, digits, '.', '_', ':' or '-'`, {
      [IDEMPOTENCY_HEADER]: "must be 1 to 100 letters, digits, '.', '_', ':' or '-'",
    });
  }
  const hex = createHash('sha256').update(`${scope}\n${key}`).digest('hex');
  // Shaped as a UUID (version 8, "custom"), like the ids made without a key.
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16)}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
