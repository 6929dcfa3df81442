import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from 'pino';

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

/** body-parser's own errors carry a `type`; they are the caller's fault, so they keep their 4xx. */
function fromBodyParser(err: { type?: unknown; status?: unknown }): AppError | undefined {
  switch (err.type) {
    case 'entity.parse.failed':
      return new AppError(400, 'body: must be valid JSON');
    case 'entity.too.large':
      return new AppError(413, 'body: must not be larger than the limit');
    case 'charset.unsupported':
    case 'encoding.unsupported':
      return new AppError(415, 'body: must be UTF-8 JSON');
    default:
      return typeof err.status === 'number' && err.status >= 400 && err.status < 500
        ? new AppError(err.status, 'body: could not be read')
        : undefined;
  }
}

/** Registered last: known errors keep their status, anything else is a 500 without internals. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    const known = err instanceof AppError ? err : fromBodyParser((err ?? {}) as { type?: unknown });
    if (known) {
      if (known.status >= 500) logger.warn({ method: req.method, path: req.path, err: known.message }, 'request failed');
      res.status(known.status).json(known.fields ? { message: known.message, fields: known.fields } : { message: known.message });
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
