import cors from 'cors';
import express, { type Express, type RequestHandler } from 'express';
import type { Logger } from 'pino';
import { AppError, errorHandler, notFound } from './errors';
import { nestsDeeperThan, TOO_DEEP_MESSAGE } from './json-depth';

/** In bytes: the largest JSON body a service reads (a 413 beyond it). */
export const DEFAULT_BODY_LIMIT = 100 * 1024;

const JSON_TYPES = ['application/json', 'application/*+json'];

const rawBodies = new WeakMap<object, Buffer>();

/**
 * Runs on a JSON body's bytes after they are read and before they are parsed: keeps them for the
 * signature check, and refuses a body nested too deep before any parser or validator walks it.
 */
function inspectJsonBody(req: object, _res: unknown, bytes: Buffer): void {
  if (nestsDeeperThan(bytes)) throw new AppError(400, TOO_DEEP_MESSAGE);
  rawBodies.set(req, bytes);
}

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
  if (req.body === undefined && hasBody && !req.is(JSON_TYPES))
    throw new AppError(415, 'content-type: must be application/json');
  next();
};

/**
 * On every answer: a browser must not guess another content type than the one declared (an error's
 * JSON, or an event's text, read as HTML or script).
 */
export const noSniff: RequestHandler = (_req, res, next) => {
  res.set('x-content-type-options', 'nosniff');
  next();
};

/**
 * On answers meant for one caller only (the bus's API, a delivery's answer): no cache, shared or the
 * browser's, keeps a copy.
 */
export const noStore: RequestHandler = (_req, res, next) => {
  res.set('cache-control', 'no-store');
  next();
};

/** Request headers a browser page may send across origins: the JSON bodies, the forms' retries, the live stream's resume. */
const CORS_REQUEST_HEADERS = ['content-type', 'idempotency-key', 'last-event-id'];

/**
 * CORS, as the course's services had it with `cors()`, but for the listed origins only and without
 * credentials (no cookies, no `Access-Control-Allow-Credentials`): a page from another origin may
 * call the public routes, and its preflight is answered on every one of them. Paths other services
 * call (`internalPaths`, and the paths under them) get no CORS answer at all.
 */
function corsFor(origins: readonly string[], internalPaths: readonly string[]): RequestHandler {
  const allowed = new Set(origins);
  const internal = new Set(internalPaths);
  const handler = cors({
    origin: (origin, callback) => callback(null, origin !== undefined && allowed.has(origin)),
    methods: ['GET', 'HEAD', 'POST'],
    allowedHeaders: CORS_REQUEST_HEADERS,
    maxAge: 600,
  });
  const isInternal = (path: string) =>
    internal.has(path) || internalPaths.some((prefix) => path.startsWith(`${prefix}/`));
  return (req, res, next) => (isInternal(req.path) ? next() : handler(req, res, next));
}

export interface HttpAppOptions {
  readonly logger: Logger;
  /** Ready means able to answer correctly now (for example: caught up with the log). */
  readonly isReady?: () => boolean;
  /** Bytes, or a size such as '1mb'. */
  readonly bodyLimit?: number | string;
  /**
   * Checks that must hold before the body is read (a rate limit: a refused request costs no parse);
   * run after CORS and before the body parser.
   */
  readonly beforeBody?: (app: Express) => void;
  /** Adds the service's own routes; runs after the body parser and before the error handler. */
  readonly routes: (app: Express) => void;
  /** Browser origins (`http://localhost:3000`) allowed to call the routes from their pages; none by default. */
  readonly corsOrigins?: readonly string[];
  /** Paths that other services call, not browsers (a transport's delivery route): never a CORS answer. */
  readonly internalPaths?: readonly string[];
}

/**
 * The plumbing every service shares, in the order Express needs it: `nosniff` on every answer and
 * `no-store` on the internal paths' answers, CORS (first among the checks, so that even a refused
 * body's answer can be read by an allowed page), JSON body parsing with a size limit (any
 * other body refused), liveness and readiness, the service's routes, then 404 and the one error handler.
 */
export function createHttpApp({
  logger,
  isReady = () => true,
  bodyLimit = DEFAULT_BODY_LIMIT,
  beforeBody,
  routes,
  corsOrigins = [],
  internalPaths = [],
}: HttpAppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use(noSniff);
  if (internalPaths.length > 0) {
    const internal = new Set(internalPaths);
    app.use((req, res, next) => (internal.has(req.path) ? noStore(req, res, next) : next()));
  }
  if (corsOrigins.length > 0) app.use(corsFor(corsOrigins, internalPaths));
  beforeBody?.(app);
  app.use(express.json({ limit: bodyLimit, type: JSON_TYPES, verify: inspectJsonBody }));
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
