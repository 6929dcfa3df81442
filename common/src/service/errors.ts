import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from 'pino';
import { BusUnavailableError, ConflictError, IdempotencyConflictError } from '../transport/errors';

/** The one error type a route throws: an HTTP status and a message safe to show the caller. */
export class AppError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** Each bad field and the rule it broke, for forms that show the message next to the field. */
    readonly fields?: Readonly<Record<string, string>>,
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export const notFound: RequestHandler = (req) => {
  throw new AppError(404, `${req.method} ${req.path}: no such route`);
};

/**
 * Errors of Express itself are the caller's fault and keep their 4xx: body-parser's carry a `type`,
 * the router's failure to decode a path parameter is a URIError.
 */
function fromExpress(err: unknown): AppError | undefined {
  const { type, status, limit } = (err ?? {}) as { type?: unknown; status?: unknown; limit?: unknown };
  switch (type) {
    case 'entity.parse.failed':
      return new AppError(400, 'body: must be valid JSON');
    case 'entity.too.large':
      return new AppError(
        413,
        typeof limit === 'number' ? `body: must be at most ${limit} bytes` : 'body: must not be larger than the limit',
      );
    case 'charset.unsupported':
    case 'encoding.unsupported':
      return new AppError(415, 'body: must be UTF-8 JSON');
  }
  if (typeof status !== 'number' || status < 400 || status >= 500) return undefined;
  if (err instanceof URIError) return new AppError(400, 'path: must be valid percent-encoded UTF-8');
  return new AppError(status, typeof type === 'string' ? 'body: could not be read' : 'request: could not be read');
}

/**
 * The log's errors, as a route answers them: the bus unavailable is the server's (503, try again),
 * a conditional publish that lost its race and a reused event id are the request's (409, 422).
 */
function fromTransport(err: unknown): AppError | undefined {
  if (err instanceof BusUnavailableError) return new AppError(503, err.message);
  if (err instanceof ConflictError) return new AppError(409, err.message);
  if (err instanceof IdempotencyConflictError) return new AppError(422, err.message);
  return undefined;
}

/** Registered last: known errors keep their status, anything else is a 500 without internals. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    const known = err instanceof AppError ? err : (fromTransport(err) ?? fromExpress(err));
    if (known) {
      if (known.status >= 500)
        logger.warn({ method: req.method, path: req.path, err: known.message }, 'request failed');
      res
        .status(known.status)
        .json(known.fields ? { message: known.message, fields: known.fields } : { message: known.message });
      return;
    }
    logger.error({ method: req.method, path: req.path, err }, 'unexpected error');
    if (res.headersSent) {
      res.end();
      return;
    }
    res.status(500).json({ message: 'internal error' });
  };
}
