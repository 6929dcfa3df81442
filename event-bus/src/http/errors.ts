import { AppError } from '@mini-blog/common/service';
import type { ErrorRequestHandler } from 'express';
import { ConflictError, IdempotencyConflictError } from '@mini-blog/common/transport';
import { LogUnavailableError, NotParkedError, UnknownSubscriberError } from '../errors';

/** The bus's domain errors as HTTP answers; anything else goes on to common's error handler. */
export const busErrors: ErrorRequestHandler = (err: unknown, _req, res, next) => {
  // The one answer with a field besides the message: the publisher reads the key's position from it.
  if (err instanceof ConflictError) res.status(409).json({ message: err.message, lastSeq: err.lastSeq });
  else if (err instanceof IdempotencyConflictError) next(new AppError(409, err.message));
  else if (err instanceof UnknownSubscriberError || err instanceof NotParkedError) next(new AppError(404, err.message));
  else if (err instanceof LogUnavailableError) next(new AppError(503, err.message));
  else next(err);
};
