import { DeliverPolicy, type ConsumerInfo, type ConsumerMessages } from '@nats-io/jetstream';
import { Router } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { MsgHdrs } from '@nats-io/transport-node';
import {
  parseEnvelope,
  toPublicEvent,
  traceIdOf,
  TRACEPARENT_PATTERN,
  type EventMeta,
  type SubscriptionStatus,
} from '../../events';
import { AppError } from '../../service/errors';
import { parseOrThrow } from '../../service/validation';
import { EventStreams, type EventStream, type EventStreamLimits } from '../../sse';
import type { Link } from './link';
import { describe } from './live-consumer';
import { headersOf, TERMINATED_ADVISORY_PREFIX, toRawEnvelope } from './stream';
import { PARKED_STREAM_NAME, parseSubject, STREAM_NAME, typeOfFilter } from './subjects';

/**
 * The bus's read-only views (`/subscriptions`, `/flow`, `/flow/stream`) on JetStream: from the
 * consumers' info and the stream's metadata, never a payload (the flow's consumers ask for headers
 * only). Served by their own small process (`views-server.ts`) where the bus would be.
 */

const MAX_FLOW_PAGE = 1000;
/** How often the live flow looks at the consumers for `delivered` notices. */
const DEFAULT_POLL_MS = 1000;

const seqParamsSchema = z.object({ seq: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER) });

const flowQuerySchema = z.object({
  after: z.coerce.number().int().min(0).optional(),
  limit: z.coerce.number().int().min(1).max(MAX_FLOW_PAGE).default(100),
});

export interface JetStreamViewsOptions {
  readonly link: () => Promise<Link>;
  readonly logger: Logger;
  readonly limits?: EventStreamLimits;
  readonly pollMs?: number;
}

export interface JetStreamViews {
  readonly router: Router;
  subscriptions(): Promise<SubscriptionStatus[]>;
  flowPage(after: number | undefined, limit: number): Promise<{ events: EventMeta[]; head: number }>;
  close(): void;
}

/** A consumer's state in the bus's words: everything up to `cursor` is dealt with. */
export function toSubscriptionStatus(info: ConsumerInfo, head: number, parked: number): SubscriptionStatus {
  const { num_pending: pending, num_ack_pending: inFlight, ack_floor: ackFloor, config } = info;
  const filterType = config.filter_subject ? typeOfFilter(config.filter_subject) : undefined;
  return {
    name: info.name,
    // Nothing waiting and nothing unacknowledged: every event stored so far is dealt with (a filtered
    // consumer's ack floor stays at the last event of its type).
    cursor: pending === 0 && inFlight === 0 ? head : ackFloor.stream_seq,
    acked: ackFloor.stream_seq,
    head,
    lag: pending + inFlight,
    inFlight,
    attempts: info.num_redelivered,
    parked,
    blockedAt: null,
    lastError: null,
    lastErrorAt: null,
    mode: 'park',
    types: filterType ? [filterType] : null,
    batch: false,
  };
}

export function createJetStreamViews({
  link,
  logger,
  limits,
  pollMs = DEFAULT_POLL_MS,
}: JetStreamViewsOptions): JetStreamViews {
  const streams = new EventStreams(limits);
  const clients = new Set<EventStream>();
  let appended: ConsumerMessages | undefined;
  let poller: NodeJS.Timeout | undefined;
  const cursors = new Map<string, number>();

  async function subscriptions(): Promise<SubscriptionStatus[]> {
    const { manager } = await link();
    const [stream, parkedInfo] = await Promise.all([
      manager.streams.info(STREAM_NAME),
      manager.streams.info(PARKED_STREAM_NAME, { subjects_filter: `${TERMINATED_ADVISORY_PREFIX}.*` }),
    ]);
    const parkedBySubject = parkedInfo.state.subjects ?? {};
    const statuses: SubscriptionStatus[] = [];
    for await (const info of manager.consumers.list(STREAM_NAME)) {
      // The services' durable consumers; the flow's and the replays' ordered consumers are not subscribers.
      if (!info.config.durable_name) continue;
      statuses.push(
        toSubscriptionStatus(
          info,
          stream.state.last_seq,
          parkedBySubject[`${TERMINATED_ADVISORY_PREFIX}.${info.name}`] ?? 0,
        ),
      );
    }
    return statuses.sort((a, b) => a.name.localeCompare(b.name));
  }

  async function flowPage(after: number | undefined, limit: number): Promise<{ events: EventMeta[]; head: number }> {
    const { client, manager } = await link();
    const head = (await manager.streams.info(STREAM_NAME)).state.last_seq;
    // Without `after`, the newest events: the view shows the tail of the log.
    const from = after ?? Math.max(0, head - limit);
    const count = Math.min(limit, head - from);
    if (count <= 0) return { events: [], head };
    const consumer = await client.consumers.get(STREAM_NAME, {
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: from + 1,
      headers_only: true,
    });
    const events: EventMeta[] = [];
    try {
      for await (const message of await consumer.fetch({ max_messages: count, expires: 5000 })) {
        events.push(toMeta(message.seq, message.subject, message.headers, message.info.timestampNanos));
        if (events.length >= count) break;
      }
    } finally {
      await consumer.delete().catch(() => undefined);
    }
    return { events, head };
  }

  function broadcast(event: string, data: unknown): void {
    const json = JSON.stringify(data);
    for (const stream of clients) stream.sendRaw(event, json);
  }

  /** The live flow runs while someone watches: new events' headers, and the consumers' cursors. */
  async function startLive(): Promise<void> {
    const { client } = await link();
    const consumer = await client.consumers.get(STREAM_NAME, { deliver_policy: DeliverPolicy.New, headers_only: true });
    appended = await consumer.consume({ max_messages: 256 });
    // Everyone left while it started.
    if (clients.size === 0) return stopLive();
    poller = setInterval(() => void pollCursors(), pollMs);
    poller.unref();
    for await (const message of appended) {
      if (clients.size > 0)
        broadcast('appended', toMeta(message.seq, message.subject, message.headers, message.info.timestampNanos));
    }
  }

  async function pollCursors(): Promise<void> {
    if (clients.size === 0) return;
    try {
      for (const status of await subscriptions()) {
        if (cursors.get(status.name) === status.cursor) continue;
        cursors.set(status.name, status.cursor);
        broadcast('delivered', { subscriber: status.name, cursor: status.cursor });
      }
    } catch (err) {
      logger.warn({ err: describe(err) }, 'cannot read the consumers');
    }
  }

  function stopLive(): void {
    appended?.stop();
    appended = undefined;
    clearInterval(poller);
    poller = undefined;
    cursors.clear();
  }

  const router = Router();
  router.get('/subscriptions', async (_req, res) => {
    res.json(await subscriptions());
  });
  router.get('/flow', async (req, res) => {
    const { after, limit } = parseOrThrow(flowQuerySchema, req.query, 'query');
    res.json(await flowPage(after, limit));
  });
  // One event with its payload, as the public may see it (no content of a pending or rejected comment).
  router.get('/flow/events/:seq', async (req, res) => {
    const { seq } = parseOrThrow(seqParamsSchema, req.params, 'path');
    const { manager } = await link();
    const message = await manager.streams.getMessage(STREAM_NAME, { seq }).catch(() => null);
    const raw = message
      ? toRawEnvelope({
          seq: message.seq,
          subject: message.subject,
          id: message.header?.get('Nats-Msg-Id'),
          time: message.time,
          body: message.data,
          ...headersOf(message.header),
        })
      : undefined;
    const parsed = raw ? parseEnvelope(raw) : undefined;
    if (!parsed?.success) throw new AppError(404, `seq: no readable event ${seq} in the log`);
    res.json(toPublicEvent(parsed.data, headersOf(message?.header)));
  });
  router.get('/flow/stream', (req, res) => {
    const stream = streams.accept(req, res, () => {
      clients.delete(stream);
      if (clients.size === 0) stopLive();
    });
    clients.add(stream);
    if (clients.size === 1) {
      startLive().catch((err: unknown) => {
        logger.warn({ err: describe(err) }, 'the live flow stopped');
        stopLive();
      });
    }
  });

  return { router, subscriptions, flowPage, close: stopLive };
}

function toMeta(seq: number, subject: string, headers: MsgHdrs | undefined, timestampNanos: number): EventMeta {
  const { traceparent, publisher } = headersOf(headers);
  return {
    seq,
    type: parseSubject(subject)?.type ?? subject,
    id: headers?.get('Nats-Msg-Id') ?? '',
    time: new Date(timestampNanos / 1e6).toISOString(),
    ...(publisher === undefined ? {} : { publisher }),
    ...(traceparent === undefined || !TRACEPARENT_PATTERN.test(traceparent) ? {} : { traceId: traceIdOf(traceparent) }),
  };
}
