import { parseEnvelope, toPublicEvent } from '@mini-blog/common/events';
import { AppError, parseOrThrow } from '@mini-blog/common/service';
import { Router } from 'express';
import { z } from 'zod';
import type { EventBus } from '../bus';
import type { FlowFeed } from './flow-feed';

const MAX_FLOW_PAGE = 1000;

const seqParamsSchema = z.object({ seq: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER) });

const flowQuerySchema = z.object({
  after: z.coerce.number().int().min(0).optional(),
  limit: z.coerce.number().int().min(1).max(MAX_FLOW_PAGE).default(100),
});

/** The read-only views the ingress exposes: metadata, and one event's payload as the public may see it. */
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

  // One event with its payload, as the public may see it (no content of a pending or rejected comment).
  router.get('/flow/events/:seq', (req, res) => {
    const { seq } = parseOrThrow(seqParamsSchema, req.params, 'path');
    const stored = store.readOne(seq);
    if (!stored) throw new AppError(404, `seq: no event ${seq} in the log`);
    const parsed = parseEnvelope(stored.envelope);
    if (!parsed.success) throw new AppError(404, `seq: event ${seq} is not readable`);
    res.json(toPublicEvent(parsed.data, stored));
  });

  router.get('/flow/stream', (req, res) => {
    flow.open(req, res);
  });

  router.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  return router;
}
