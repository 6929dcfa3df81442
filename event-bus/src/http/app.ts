import { createHttpApp, type Logger } from '@mini-blog/common';
import type { Express } from 'express';
import { adminRouter } from './admin-routes';
import type { EventBus } from '../bus';
import { busErrors } from './errors';
import { eventsRouter } from './events-routes';
import { FlowFeed } from './flow-feed';
import { viewsRouter } from './views-routes';

export interface AppDeps {
  readonly bus: EventBus;
  readonly logger: Logger;
  /** The least time between two `delivered` messages for one subscriber on `GET /flow/stream`. */
  readonly flowThrottleMs?: number;
}

/** Larger than the services' 100 kB: a batch of full-size comments must fit. */
export const BUS_BODY_LIMIT = '1mb';

export function createApp({ bus, logger, flowThrottleMs }: AppDeps): Express {
  const flow = new FlowFeed(bus, flowThrottleMs);
  const app = createHttpApp({
    logger,
    bodyLimit: BUS_BODY_LIMIT,
    // Not ready while the log cannot be written: Kubernetes stops sending publishes that would fail.
    isReady: () => bus.committer.writeFailure === undefined,
    routes: (routes) => {
      routes.use(eventsRouter(bus));
      routes.use(viewsRouter(bus, flow));
      routes.use('/admin', adminRouter(bus));
      routes.use(busErrors);
    },
  });
  // Every answer is fresh (a publish result, the log, live state): hashing each for an ETag is wasted work.
  app.set('etag', false);
  return app;
}
