import { ADMIN, type Principals } from '@mini-blog/common/auth';
import {
  allowOnly,
  AppError,
  authenticate,
  createHttpApp,
  errorHandler,
  noSniff,
  noStore,
  type EventStreamLimits,
  type Logger,
  gatheredTracesRouter,
  type ProxyTrust,
} from '@mini-blog/common/service';
import { currentTracing } from '@mini-blog/common/tracing';
import express, { type Express, type RequestHandler } from 'express';
import type { EventBus } from '../bus';
import { adminRouter } from './admin-routes';
import { busErrors } from './errors';
import { faultRouter } from './fault-routes';
import { eventsRouter, type EventsAccess } from './events-routes';
import { FlowFeed } from './flow-feed';
import { viewsRouter } from './views-routes';

export interface AppDeps {
  readonly bus: EventBus;
  readonly logger: Logger;
  /** Whose tokens are accepted, and what each may do. */
  readonly access: EventsAccess & { readonly principals: Principals };
  /** The fault switches under `/admin/faults` exist (`FAULT_SWITCHES=on`). */
  readonly faultSwitches?: boolean;
}

/** Larger than the services' 100 kB: a batch of full-size comments must fit. */
export const BUS_BODY_LIMIT = '1mb';

/** The probes Kubernetes and the launcher call without a token. */
const PROBES = new Set(['/healthz', '/readyz']);

/**
 * The bus's API (its main port): publish, read the log, admin. Every route but `/healthz` and
 * `/readyz` needs a principal's token, checked before the body is read, so that a caller without
 * one costs no parsing; the read-only views are not served here (`createViewsApp`).
 */
export function createApp({ bus, logger, access, faultSwitches = false }: AppDeps): Express {
  const api = createHttpApp({
    logger,
    bodyLimit: BUS_BODY_LIMIT,
    // Not ready while the log cannot be written: Kubernetes stops sending publishes that would fail.
    isReady: () => bus.committer.writeFailure === undefined,
    routes: (routes) => {
      routes.use(eventsRouter(bus, access));
      const adminOnly = allowOnly((principal) => principal === ADMIN, 'use the admin routes');
      if (faultSwitches) routes.use('/admin/faults', adminOnly, faultRouter(bus, logger));
      routes.use('/admin', adminOnly, adminRouter(bus));
      routes.use(busErrors);
    },
  });
  // Every answer is fresh (a publish result, the log, live state): hashing each for an ETag is wasted work.
  api.set('etag', false);
  const identify = authenticate(access.principals);
  const app = express();
  app.disable('x-powered-by');
  // Every answer of the API is for its caller alone (the log, a publish's result, a refusal), 401s included.
  app.use(noSniff, noStore);
  app.use((req, res, next) => (PROBES.has(req.path) ? next() : identify(req, res, next)));
  app.use(api);
  app.use(errorHandler(logger));
  return app;
}

export interface ViewsAppDeps {
  readonly bus: EventBus;
  readonly logger: Logger;
  /** The least time between two `delivered` messages for one subscriber on `GET /flow/stream`. */
  readonly flowThrottleMs?: number;
  readonly streamLimits?: EventStreamLimits;
  /** The processes `GET /traces/:traceId` gathers spans from, besides this one. */
  readonly traceSources?: ReadonlyMap<string, string>;
  /** The proxies in front of the views (the gateway, the ingress), whose forwarded client address bounds the streams. */
  readonly proxies?: ProxyTrust;
}

/** Nothing but reads on the views' listener: the ingress routes paths under it as prefixes. */
const readOnly: RequestHandler = (req, res, next) => {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.set('allow', 'GET, HEAD');
    throw new AppError(405, `method: ${req.method} is not allowed here; the views are read-only (GET)`);
  }
  next();
};

/**
 * The read-only views on their own listener (`VIEWS_PORT`), the only part of the bus that the
 * ingress and the local gateway reach: `/subscriptions`, `/flow`, `/flow/stream`, `/metrics`, and
 * `/traces` gathered from every process. Metadata, and payloads only as the public may see them
 * (`/flow/events/:seq`): no subscriber URL, no subscriber's answer.
 */
export function createViewsApp({
  bus,
  logger,
  flowThrottleMs,
  streamLimits,
  traceSources = new Map(),
  proxies,
}: ViewsAppDeps): Express {
  const flow = new FlowFeed(bus, flowThrottleMs, streamLimits, proxies);
  const app = createHttpApp({
    logger,
    routes: (routes) => {
      routes.use(readOnly);
      routes.use(viewsRouter(bus, flow));
      routes.use(gatheredTracesRouter(traceSources, currentTracing()?.spans));
      routes.use(busErrors);
    },
  });
  app.set('etag', false);
  return app;
}
