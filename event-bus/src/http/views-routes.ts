import { parseOrThrow } from '@mini-blog/common';
import { Router } from 'express';
import { z } from 'zod';
import type { EventBus } from '../bus';
import type { FlowFeed } from './flow-feed';

const MAX_FLOW_PAGE = 1000;

const flowQuerySchema = z.object({
  after: z.coerce.number().int().min(0).optional(),
  limit: z.coerce.number().int().min(1).max(MAX_FLOW_PAGE).default(100),
});

/** The read-only views the ingress exposes; metadata only, never an event's data. */
export function viewsRouter({ store, fanOut, metrics }: EventBus, flow: FlowFeed): Router {
  const router = Router();

  router.get('/subscriptions', (_req, res) => {
    res.json(fanOut.statuses());
  });

  router.get('/flow', (req, res) => {
    const { after, limit } = parseOrThrow(flowQuerySchema, req.query, 'query');
    const head = store.head;
    // Without `after`, the newest events: the view shows the tail of the log.
    res.json({ events: store.readMeta(after ?? Math.max(0, head - limit), limit), head });
  });

  router.get('/flow/stream', (req, res) => {
    flow.open(req, res);
  });

  router.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  return router;
}
