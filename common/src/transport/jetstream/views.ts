import type { ConsumerInfo } from '@nats-io/jetstream';
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
  type ParkedEvent,
  type SubscriptionStatus,
} from '../../events';
import { AppError } from '../../service/errors';
import { parseOrThrow } from '../../service/validation';
import { EventStreams, type EventStream, type EventStreamLimits } from '../../service/sse';
import type { Link } from './link';
import { describe } from './live-consumer';
import {
  fromStoredMsg,
  headersOf,
  isApiError,
  STREAM_NOT_FOUND,
  TERMINATED_ADVISORY_PREFIX,
  toRawEnvelope,
} from './stream';
import { PARKED_STREAM_NAME, parseSubject, STREAM_NAME, typeOfFilter } from './subjects';

/**
 * The bus's read-only views (`/subscriptions`, `/flow`, `/flow/stream`) on JetStream: from the
 * consumers' info and the stream's messages, read one by one, never a payload in an answer but the
 * public one of `/flow/events/:seq`. Served by their own small process (`views-server.ts`) where the
 * bus would be, as the read-only NATS user `views`, which may read the stream's and the consumers'
 * state and messages, and nothing else: it creates no consumer (so the live flow looks for new
 * events rather than subscribing to them).
 */

const MAX_FLOW_PAGE = 1000;
/** How often the live flow looks for new events and at the consumers' cursors. */
const DEFAULT_POLL_MS = 500;
/** Messages read at once. */
const READ_PARALLEL = 64;

const seqParamsSchema = z.object({ seq: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER) });

const parkedQuerySchema = z.object({ subscriber: z.string().min(1).max(200).optional() });

/** The fields of JetStream's MSG_TERMINATED advisory that a parked record is made of. */
interface TerminatedAdvisory {
  readonly timestamp: string;
  readonly consumer: string;
  readonly stream_seq: number;
  readonly deliveries: number;
  readonly reason?: string;
}

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
  /** The newest parked events (up to a page), of one subscriber's consumers (`query`: `query`, `query-…`) or all. */
  parked(subscriber?: string): Promise<ParkedEvent[]>;
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
  let poller: NodeJS.Timeout | undefined;
  /** The last seq the live flow has sent; undefined until it has looked at the head. */
  let sent: number | undefined;
  const cursors = new Map<string, number>();

  async function subscriptions(): Promise<SubscriptionStatus[]> {
    const { manager } = await link();
    // The services create the streams when they first start: until then there is nothing to show.
    if ((await head()) === undefined) return [];
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

  async function parked(subscriber?: string): Promise<ParkedEvent[]> {
    const { manager } = await link();
    let last: number;
    let first: number;
    try {
      ({ first_seq: first, last_seq: last } = (await manager.streams.info(PARKED_STREAM_NAME)).state);
    } catch (err) {
      if (isApiError(err, STREAM_NOT_FOUND)) return [];
      throw err;
    }
    const from = Math.max(first, last - MAX_FLOW_PAGE + 1);
    const seqs = Array.from({ length: Math.max(0, last - from + 1) }, (_, index) => from + index);
    const records: ParkedEvent[] = [];
    for (let start = 0; start < seqs.length; start += READ_PARALLEL) {
      const notices = await Promise.all(
        seqs
          .slice(start, start + READ_PARALLEL)
          .map((seq) => manager.streams.getMessage(PARKED_STREAM_NAME, { seq }).catch(() => null)),
      );
      for (const notice of notices) {
        if (!notice) continue;
        const advisory = notice.json<TerminatedAdvisory>();
        const { consumer } = advisory;
        if (subscriber !== undefined && consumer !== subscriber && !consumer.startsWith(`${subscriber}-`)) continue;
        const event = await manager.streams.getMessage(STREAM_NAME, { seq: advisory.stream_seq }).catch(() => null);
        const meta = event ? toMeta(event.seq, event.subject, event.header, event.time) : undefined;
        records.push({
          subscriber: consumer,
          seq: advisory.stream_seq,
          id: meta?.id ?? '',
          type: meta?.type ?? '',
          attempts: advisory.deliveries,
          reason: advisory.reason || 'terminated by the consumer after its last delivery',
          parkedAt: advisory.timestamp,
        });
      }
    }
    return records;
  }

  /** The metadata of the events after `from`, up to `to`, in order (a message that cannot be read is left out). */
  async function metaBetween(from: number, to: number): Promise<EventMeta[]> {
    const { manager } = await link();
    const events: EventMeta[] = [];
    for (let start = from + 1; start <= to; start += READ_PARALLEL) {
      const seqs = Array.from({ length: Math.min(READ_PARALLEL, to - start + 1) }, (_, index) => start + index);
      const messages = await Promise.all(
        seqs.map((seq) => manager.streams.getMessage(STREAM_NAME, { seq }).catch(() => null)),
      );
      for (const message of messages)
        if (message) events.push(toMeta(message.seq, message.subject, message.header, message.time));
    }
    return events;
  }

  /** The stream's last seq; undefined while no service has created the stream. */
  async function head(): Promise<number | undefined> {
    const { manager } = await link();
    try {
      return (await manager.streams.info(STREAM_NAME)).state.last_seq;
    } catch (err) {
      if (isApiError(err, STREAM_NOT_FOUND)) return undefined;
      throw err;
    }
  }

  async function flowPage(after: number | undefined, limit: number): Promise<{ events: EventMeta[]; head: number }> {
    const last = (await head()) ?? 0;
    // Without `after`, the newest events: the view shows the tail of the log.
    const from = after ?? Math.max(0, last - limit);
    const count = Math.min(limit, last - from);
    if (count <= 0) return { events: [], head: last };
    return { events: await metaBetween(from, from + count), head: last };
  }

  function broadcast(event: string, data: unknown): void {
    const json = JSON.stringify(data);
    for (const stream of clients) stream.sendRaw(event, json);
  }

  /** While someone watches: the events stored since the last look, and the consumers' cursors. */
  async function poll(): Promise<void> {
    if (clients.size === 0) return;
    try {
      const last = (await head()) ?? 0;
      if (sent === undefined) sent = last;
      if (last > sent) {
        const to = Math.min(last, sent + MAX_FLOW_PAGE);
        for (const meta of await metaBetween(sent, to)) broadcast('appended', meta);
        sent = to;
      }
      for (const status of await subscriptions()) {
        if (cursors.get(status.name) === status.cursor) continue;
        cursors.set(status.name, status.cursor);
        broadcast('delivered', { subscriber: status.name, cursor: status.cursor });
      }
    } catch (err) {
      logger.warn({ err: describe(err) }, 'cannot read the stream or the consumers');
    }
  }

  function startLive(): void {
    let running = false;
    poller = setInterval(() => {
      if (running) return;
      running = true;
      void poll().finally(() => {
        running = false;
      });
    }, pollMs);
    poller.unref();
    void poll();
  }

  function stopLive(): void {
    clearInterval(poller);
    poller = undefined;
    sent = undefined;
    cursors.clear();
  }

  const router = Router();
  router.get('/subscriptions', async (_req, res) => {
    res.json(await subscriptions());
  });
  // The parked events, read from JetStream's notices (on the HTTP bus: the admin route `/admin/parked`).
  router.get('/parked', async (req, res) => {
    const { subscriber } = parseOrThrow(parkedQuerySchema, req.query, 'query');
    res.json({ parked: await parked(subscriber) });
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
    const raw = message ? toRawEnvelope(fromStoredMsg(message)) : undefined;
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
    if (clients.size === 1) startLive();
  });

  return { router, subscriptions, parked, flowPage, close: stopLive };
}

function toMeta(seq: number, subject: string, headers: MsgHdrs | undefined, time: Date): EventMeta {
  const { traceparent, publisher } = headersOf(headers);
  return {
    seq,
    type: parseSubject(subject)?.type ?? subject,
    id: headers?.get('Nats-Msg-Id') ?? '',
    time: time.toISOString(),
    ...(publisher === undefined ? {} : { publisher }),
    ...(traceparent === undefined || !TRACEPARENT_PATTERN.test(traceparent) ? {} : { traceId: traceIdOf(traceparent) }),
  };
}
