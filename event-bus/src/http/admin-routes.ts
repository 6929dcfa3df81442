import { AppError, parseBody, parseOrThrow } from '@mini-blog/common/service';
import { Router } from 'express';
import { z } from 'zod';
import type { EventBus } from '../bus';

const parkedQuerySchema = z.object({ subscriber: z.string().min(1).optional() });
const parkedParamsSchema = z.object({ name: z.string(), seq: z.coerce.number().int().positive() });
const cursorBodySchema = z.object({ cursor: z.number().int().min(0) });

/**
 * Operations on deliveries (not exposed by the ingress): list parked events, replay or skip one,
 * move a subscriber's cursor.
 */
export function adminRouter({ store, fanOut }: EventBus): Router {
  const router = Router();

  router.get('/parked', (req, res) => {
    const { subscriber } = parseOrThrow(parkedQuerySchema, req.query, 'query');
    if (subscriber !== undefined) fanOut.subscriber(subscriber);
    res.json({ parked: store.listParked(subscriber) });
  });

  router.post('/subscriptions/:name/parked/:seq/replay', (req, res) => {
    const { name, seq } = parseOrThrow(parkedParamsSchema, req.params, 'path');
    fanOut.subscriber(name).replay(seq);
    res.status(202).json({ subscriber: name, seq, status: 'replaying' });
  });

  router.post('/subscriptions/:name/parked/:seq/skip', async (req, res) => {
    const { name, seq } = parseOrThrow(parkedParamsSchema, req.params, 'path');
    await fanOut.subscriber(name).skip(seq);
    res.json({ subscriber: name, seq, status: 'skipped' });
  });

  router.put('/subscriptions/:name/cursor', async (req, res) => {
    const loop = fanOut.subscriber(req.params.name);
    const { cursor } = parseBody(req, cursorBodySchema);
    const head = store.head;
    if (cursor > head)
      throw new AppError(400, `cursor: must be at most the head (${head})`, { cursor: `must be at most ${head}` });
    await loop.resetCursor(cursor);
    res.json(loop.status(head));
  });
  return router;
}
