import express, { type Express, type RequestHandler } from 'express';
import type { Logger } from 'pino';
import { AppError, errorHandler, notFound } from './errors';

/** In bytes: the largest JSON body a service reads (a 413 beyond it). */
export const DEFAULT_BODY_LIMIT = 100 * 1024;

const JSON_TYPES = ['application/json', 'application/*+json'];

const rawBodies = new WeakMap<object, Buffer>();

/** The bytes of a JSON request body as they came: what a signature is checked against. */
export function rawBodyOf(req: object): Buffer | undefined {
  return rawBodies.get(req);
}

/**
 * A body the JSON parser left alone is not JSON: refused with 415 on every route alike (a route
 * that reads no body, such as a subscriber's `POST /events`, would otherwise call it missing).
 */
const refuseOtherBodies: RequestHandler = (req, _res, next) => {
  const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
  if (req.body === undefined && hasBody && !req.is(JSON_TYPES)) throw new AppError(415, 'content-type: must be application/json');
  next();
};

export interface HttpAppOptions {
  readonly logger: Logger;
  /** Ready means able to answer correctly now (for example: caught up with the log). */
  readonly isReady?: () => boolean;
  /** Bytes, or a size such as '1mb'. */
  readonly bodyLimit?: number | string;
  /** Adds the service's own routes; runs after the body parser and before the error handler. */
  readonly routes: (app: Express) => void;
}

/**
 * The plumbing every service shares, in the order Express needs it: JSON body parsing with a size
 * limit (any other body refused), liveness and readiness, the service's routes, then 404 and the one error handler.
 */
export function createHttpApp({ logger, isReady = () => true, bodyLimit = DEFAULT_BODY_LIMIT, routes }: HttpAppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use(express.json({ limit: bodyLimit, type: JSON_TYPES, verify: (req, _res, buf) => void rawBodies.set(req, buf) }));
  app.use(refuseOtherBodies);
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', (_req, res) => {
    const ready = isReady();
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'starting' });
  });
  routes(app);
  app.use(notFound);
  app.use(errorHandler(logger));
  return app;
}
