import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import {
  BUS_CURSOR_HEADER,
  BUS_DELIVERY_ID_HEADER,
  BUS_SIGNATURE_HEADER,
  BUS_TIMESTAMP_HEADER,
  verifyDelivery,
} from '../../auth/credentials';
import { envelopeSchema, parseEnvelope, type Envelope } from '../../events';
import { AppError } from '../../service/errors';
import { rawBodyOf } from '../../service/http-app';
import { describeIssues } from '../../service/validation';
import { DeliveryRefusedError, NotReadyError } from '../errors';
import type { LiveDelivery } from '../transport';
import type { DeliverySink } from '../types';

/** Where the bus delivers to a subscriber. */
export const DELIVERY_PATHS = ['/events'];

/** Events in one delivery at most: far above the bus's batches, a bound on the work one request makes. */
export const MAX_DELIVERY = 10_000;
const batchSchema = z.array(envelopeSchema).max(MAX_DELIVERY);

export interface DeliveryRouterOptions {
  /**
   * The subscriber's own secrets (its credential file, current first): a delivery must carry a
   * fresh signature made with one of them, or it is refused with 401 and changes nothing.
   * `'unsigned'` accepts deliveries without a signature: for tests of a service's reactions only.
   */
  readonly secrets: readonly [string, ...string[]] | 'unsigned';
}

/** A delivery's body: one envelope or an array of them, each checked against the catalog. */
export function parseDelivery(body: unknown): readonly Envelope[] {
  const items: unknown[] = Array.isArray(body) ? body : [body];
  if (items.length <= MAX_DELIVERY) {
    const events: Envelope[] = [];
    for (const item of items) {
      const parsed = parseEnvelope(item);
      if (!parsed.success) break;
      events.push(parsed.data);
    }
    if (events.length === items.length) return events;
  }
  // Refused: checked again apart rather than as a union, so that the message names the field that is wrong.
  const result = Array.isArray(body) ? batchSchema.safeParse(body) : envelopeSchema.safeParse(body);
  if (!result.success) {
    const { message, fields } = describeIssues(result.error.issues, 'event');
    throw new AppError(400, message, fields);
  }
  return Array.isArray(result.data) ? result.data : [result.data];
}

function cursorOf(req: Request): number | undefined {
  const raw = req.header(BUS_CURSOR_HEADER);
  if (raw === undefined) return undefined;
  if (!/^\d{1,16}$/.test(raw) || !Number.isSafeInteger(Number(raw)))
    throw new AppError(400, `${BUS_CURSOR_HEADER}: must be a whole number`);
  return Number(raw);
}

function verify(req: Request, secrets: DeliveryRouterOptions['secrets']): void {
  if (secrets === 'unsigned') return;
  const verification = verifyDelivery(secrets, {
    id: req.header(BUS_DELIVERY_ID_HEADER),
    timestamp: req.header(BUS_TIMESTAMP_HEADER),
    signature: req.header(BUS_SIGNATURE_HEADER),
    cursor: req.header(BUS_CURSOR_HEADER),
    body: rawBodyOf(req) ?? '',
  });
  if (!verification.ok) throw new AppError(401, verification.reason);
}

/**
 * The HTTP transport's live delivery: the bus's `POST /events` to the subscriber. Checked in this
 * order, each before anything changes: the signature (401), readiness (503 while the startup replay
 * runs: the bus delivers again later), the body (400), then the engine applies the events; one that
 * claims a position past the log's head is refused (422) and not applied.
 */
export function createDeliveryRouter(sink: DeliverySink, { secrets }: DeliveryRouterOptions): Router {
  const router = Router();
  router.post(DELIVERY_PATHS[0]!, async (req, res) => {
    verify(req, secrets);
    if (!sink.isReady) throw new AppError(503, `${sink.name}: catching up with the log, deliver again later`);
    const events = parseDelivery(req.body);
    const cursor = cursorOf(req);
    try {
      await sink.deliver(events, cursor);
    } catch (err) {
      if (err instanceof NotReadyError) throw new AppError(503, err.message);
      if (err instanceof DeliveryRefusedError)
        throw new AppError(422, `${err.field === 'cursor' ? BUS_CURSOR_HEADER : 'seq'}: ${err.rule}`);
      throw err;
    }
    res.json({ status: 'ok', position: sink.currentPosition });
  });
  return router;
}

/**
 * Live delivery over HTTP: the bus's signed pushes answered on the service's own `POST /events`. The
 * handler is mounted on the service's Express app, so every request it sees is already Express's.
 */
export function httpLiveDelivery(sink: DeliverySink, options: DeliveryRouterOptions): LiveDelivery {
  const router = createDeliveryRouter(sink, options);
  return { handler: (req, res, next) => router(req as Request, res as Response, next), paths: DELIVERY_PATHS };
}
