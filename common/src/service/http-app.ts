import express, { type Express } from 'express';
import type { Logger } from 'pino';
import { errorHandler, notFound } from './errors';

export const DEFAULT_BODY_LIMIT = '100kb';

export interface HttpAppOptions {
  readonly logger: Logger;
  /** Ready means able to answer correctly now (for example: caught up with the log). */
  readonly isReady?: () => boolean;
  readonly bodyLimit?: string;
  /** Adds the service's own routes; runs after the body parser and before the error handler. */
  readonly routes: (app: Express) => void;
}

/**
 * The plumbing every service shares, in the order Express needs it: JSON body parsing with a size
 * limit, liveness and readiness, the service's routes, then 404 and the one error handler.
 */
export function createHttpApp({ logger, isReady = () => true, bodyLimit = DEFAULT_BODY_LIMIT, routes }: HttpAppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use(express.json({ limit: bodyLimit, type: ['application/json', 'application/*+json'] }));
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
