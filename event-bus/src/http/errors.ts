import { AppError } from '@mini-blog/common';
import type { ErrorRequestHandler } from 'express';
import { LogUnavailableError, NotParkedError, UnknownSubscriberError } from '../errors';

/** The bus's domain errors as HTTP answers; anything else goes on to common's error handler. */
export const busErrors: ErrorRequestHandler = (err: unknown, _req, _res, next) => {
  if (err instanceof UnknownSubscriberError || err instanceof NotParkedError) next(new AppError(404, err.message));
  else if (err instanceof LogUnavailableError) next(new AppError(503, err.message));
  else next(err);
};
