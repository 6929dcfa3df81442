import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { AckPolicy, DeliverPolicy, JetStreamApiError, type PubAck } from '@nats-io/jetstream';
import {
  headers as natsHeaders,
  nanos,
  RequestError,
  TimeoutError,
  type Msg,
  type Subscription,
} from '@nats-io/transport-node';
import type { Logger } from 'pino';
import {
  NO_DELIVERY_FAULTS,
  NO_LOG_FAULTS,
  serviceFaultsSchema,
  type Envelope,
  type LogFaults,
  type NewEvent,
  type ServiceFaults,
} from '../../events';
import { describeIssues } from '../../service/validation';
import { backoffDelay } from '../backoff';
import { BusUnavailableError, ConflictError, IdempotencyConflictError } from '../errors';
import type { EventTransport, LiveDelivery } from '../transport';
import type { DeliverySink, LogPage, PublishOptions, PublishResult, ReadLogOptions } from '../types';
import { createLink } from './link';
import { describe, LiveConsumer, type LiveConsumerOptions, type LiveStatus } from './live-consumer';
import { ReplicaSlot } from './replica-slot';
import {
  CONSUMER_NOT_FOUND,
  contiguousFrom,
  encodeData,
  fromJsMsg,
  fromStoredMsg,
  isApiError,
  lastSequenceOf,
  PUBLISHER_HEADER,
  toRawEnvelope,
  TRACEPARENT_HEADER,
  WRONG_LAST_SEQUENCE,
  type StoredEvent,
} from './stream';
import {
  faultAnswerSubject,
  faultSubject,
  liveConsumerName,
  readerConsumerName,
  STREAM_NAME,
  subjectOf,
} from './subjects';

export interface JetStreamTransportOptions {
  /** The service: its NATS user, and the first part of its consumer's name. */
  readonly name: string;
  /** This process among the service's replicas: the second part of its consumer's name. */
  readonly replica: string;
  readonly servers: readonly string[];
  /** The service's current secret: its NATS password. */
  readonly password: string;
  /** Copies of the stream when this process creates it. */
  readonly streamReplicas: number;
  readonly logger: Logger;
  /** Per request and publish attempt. */
  readonly timeoutMs?: number;
  /** How long a publish keeps trying through a leader election or a lost node before it answers 503. */
  readonly publishDeadlineMs?: number;
  /** Live delivery's redelivery settings (see LiveConsumer). */
  readonly live?: Pick<LiveConsumerOptions, 'maxDeliver' | 'redeliveryBackoffMs'>;
  /** How often the live consumer's configuration is checked; CHECK_EVERY_MS by default. */
  readonly checkEveryMs?: number;
  /** Listens on the service's fault subject for the operator's switches (`FAULT_SWITCHES=on`). */
  readonly faultSwitches?: boolean;
}

/** Spans of the log up to this long are read message by message, in parallel: a read-your-writes sync, a gap. */
const DIRECT_READ_MAX = 32;
/** How long one page of a replay may take before the page ends where it got to. */
const PAGE_EXPIRES_MS = 10_000;
/** How often the live consumer's configuration is compared with what this replica made. */
const CHECK_EVERY_MS = 5000;

export interface JetStreamTransport extends EventTransport {
  /** This replica's live consumer, for logs and tests. */
  liveStatus(): LiveStatus | undefined;
}

/**
 * The log on NATS JetStream, behind the same seam as the HTTP bus: one stream, subjects per type
 * and key; a publish resolves once the stream has stored the event (on a majority of its replicas
 * in a cluster), deduplicated by `Nats-Msg-Id`; pages of the log are read from an ordered consumer
 * (or message by message for a short span); live delivery comes from a durable consumer per replica.
 * A replica's consumers are named after the slot it holds (`ReplicaSlot`), since its NATS user may
 * touch no other.
 */
export function createJetStreamTransport(options: JetStreamTransportOptions): JetStreamTransport {
  const { name, replica, logger, timeoutMs = 5000, publishDeadlineMs = 15_000 } = options;
  const link = createLink({
    servers: options.servers,
    user: name,
    password: options.password,
    connectionName: `${name}-${replica}`,
    streamReplicas: options.streamReplicas,
    timeoutMs,
    onReconnect: () => void live?.check().catch(() => undefined),
  });
  let live: LiveConsumer | undefined;
  const slot = new ReplicaSlot({
    service: name,
    replica,
    link: () => link.get(),
    logger,
    onLost: () => live?.interrupt(),
  });
  /** One span read at a time: the replica has one reader consumer. */
  let reading: Promise<unknown> = Promise.resolve();
  let checker: NodeJS.Timeout | undefined;
  let closed = false;
  /** The switch "slow the log", as this service sees the log: each publish waits this long first. */
  let logFaults: LogFaults = NO_LOG_FAULTS;
  let switches: Subscription | undefined;
  if (options.faultSwitches) void listenForSwitches();

  /** The switches of this replica, as the operator's request sets them (admin is the only user who may publish there). */
  async function listenForSwitches(): Promise<void> {
    for (let attempt = 1; !closed; attempt += 1) {
      try {
        const { connection } = await link.get();
        switches = connection.subscribe(faultSubject(name), {
          callback: (err, msg) => {
            if (!err) answerSwitches(msg);
          },
        });
        logger.info({ subject: faultSubject(name) }, 'fault switches: listening');
        return;
      } catch {
        await delay(backoffDelay(Math.min(attempt, 6), 250, 5000) + 100);
      }
    }
  }

  function answerSwitches(msg: Msg): void {
    // The only answers this user may publish are on its fault answer subject (see `askSwitches`).
    if (!msg.reply?.startsWith(faultAnswerSubject(name, ''))) {
      logger.warn({ subject: msg.subject }, 'fault switches: a request without a reply on the fault answer subject');
      return;
    }
    let answer: ServiceFaults | { error: string };
    try {
      const text = msg.string().trim();
      const parsed = serviceFaultsSchema.safeParse(text === '' ? {} : JSON.parse(text));
      if (!parsed.success) throw new Error(describeIssues(parsed.error.issues, 'switches').message);
      const { deliveries, log } = parsed.data;
      if (deliveries) live?.setFaults(deliveries);
      if (log) logFaults = log;
      if (deliveries || log) logger.warn({ deliveries, log }, 'fault switches set');
      answer = { deliveries: live?.faults ?? NO_DELIVERY_FAULTS, log: logFaults };
    } catch (err) {
      answer = { error: err instanceof SyntaxError ? 'switches: must be JSON' : describe(err) };
    }
    msg.respond(JSON.stringify(answer));
  }

  /** Sends once, and again with the same id through a failover until the deadline: JetStream stores it once. */
  async function publishOnce(event: NewEvent, id: string, expectedLastSeq: number | undefined): Promise<PublishResult> {
    if (expectedLastSeq !== undefined && event.key === undefined)
      throw new Error('expectedLastSeq: needs the event to have a key');
    const subject = subjectOf(event.type, event.key);
    const body = encodeData(event.data);
    const headers = natsHeaders();
    headers.set(PUBLISHER_HEADER, name);
    if (event.traceparent !== undefined) headers.set(TRACEPARENT_HEADER, event.traceparent);
    if (logFaults.slowMs > 0) await delay(logFaults.slowMs);
    const deadline = Date.now() + publishDeadlineMs;
    let mayBeStored = false;
    for (let attempt = 0; ; attempt += 1) {
      let reason: string;
      try {
        const { client } = await link.get();
        const ack: PubAck = await client.publish(subject, body, {
          msgID: id,
          headers,
          timeout: timeoutMs,
          ...(expectedLastSeq === undefined ? {} : { expect: { lastSubjectSequence: expectedLastSeq } }),
        });
        if (ack.duplicate) await checkSameEvent(ack.seq, id, subject, body);
        return { id, seq: ack.seq, duplicate: ack.duplicate };
      } catch (err) {
        if (isApiError(err, WRONG_LAST_SEQUENCE)) throw new ConflictError(event.key!, lastSequenceOf(err));
        if (err instanceof IdempotencyConflictError) throw err;
        if (err instanceof RequestError && /permissions violation/i.test(err.message)) {
          // A bug or a wrong configuration here, as a 4xx from the HTTP bus is: never retried.
          throw new Error(`nats refused ${event.type} from ${name}: ${err.message}`);
        }
        if (err instanceof JetStreamApiError) throw new BusUnavailableError(`jetstream: ${err.message}`, false);
        // A timeout may come after the stream stored it; no responders (no stream leader) means nobody got it.
        if (!(err instanceof RequestError && err.isNoResponders()))
          mayBeStored ||= err instanceof TimeoutError || err instanceof RequestError;
        reason = describe(err);
      }
      if (Date.now() + 100 > deadline) throw new BusUnavailableError(reason, mayBeStored);
      await delay(Math.min(backoffDelay(Math.min(attempt + 1, 5), 100, 2000) + 50, Math.max(0, deadline - Date.now())));
    }
  }

  /** A duplicate id must carry the same event: anything else is a reused Idempotency-Key. */
  async function checkSameEvent(seq: number, id: string, subject: string, body: string): Promise<void> {
    const { manager } = await link.get();
    const stored = await manager.streams.getMessage(STREAM_NAME, { seq });
    if (stored && (stored.subject !== subject || stored.string() !== body)) throw new IdempotencyConflictError(id);
  }

  async function head(): Promise<number> {
    const { manager } = await link.get();
    return (await manager.streams.info(STREAM_NAME)).state.last_seq;
  }

  async function readLog({ after, limit = 1000, types }: ReadLogOptions): Promise<LogPage> {
    const last = await unavailableOnFailure(head);
    const end = Math.min(last, after + limit);
    if (end <= after) return { events: [], next: Math.max(after, 0), head: last };
    const stored = contiguousFrom(
      after,
      await unavailableOnFailure(() => (end - after <= DIRECT_READ_MAX ? readEach(after, end) : readRange(after, end))),
    );
    const wanted = types ? new Set<string>(types) : undefined;
    const events: Envelope[] = [];
    for (const message of stored) {
      const raw = toRawEnvelope(message);
      // The engine checks each envelope; one that cannot be made is left out, and `next` moves past it.
      if (raw && (!wanted || wanted.has(raw.type as string))) events.push(raw as unknown as Envelope);
    }
    return { events, next: stored.at(-1)?.seq ?? after, head: last };
  }

  async function readEach(after: number, end: number): Promise<StoredEvent[]> {
    const { manager } = await link.get();
    const seqs = Array.from({ length: end - after }, (_, index) => after + 1 + index);
    const messages = await Promise.all(seqs.map((seq) => manager.streams.getMessage(STREAM_NAME, { seq })));
    return messages.flatMap((message) => (message ? [fromStoredMsg(message)] : []));
  }

  function readRange(after: number, end: number): Promise<StoredEvent[]> {
    const read = reading.then(() => readRangeNow(after, end));
    reading = read.catch(() => undefined);
    return read;
  }

  /**
   * The stream's sequence has no holes (nothing is ever deleted), so a range is exactly `end - after`
   * messages, read through this replica's reader consumer, made for the range and deleted after it.
   */
  async function readRangeNow(after: number, end: number): Promise<StoredEvent[]> {
    const { client, manager } = await link.get();
    const reader = readerConsumerName(name, await slot.get());
    await manager.consumers.delete(STREAM_NAME, reader).catch((err: unknown) => {
      if (!isApiError(err, CONSUMER_NOT_FOUND)) throw err;
    });
    const info = await manager.consumers.add(STREAM_NAME, {
      name: reader,
      ack_policy: AckPolicy.None,
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: after + 1,
      mem_storage: true,
      // Removed by the server if this process dies before it deletes it.
      inactive_threshold: nanos(PAGE_EXPIRES_MS * 3),
    });
    try {
      const consumer = client.consumers.getConsumerFromInfo(info);
      const messages = await consumer.fetch({ max_messages: end - after, expires: PAGE_EXPIRES_MS });
      const stored: StoredEvent[] = [];
      for await (const message of messages) {
        if (message.seq > end) break;
        stored.push(fromJsMsg(message));
        if (message.seq === end) break;
      }
      return stored;
    } finally {
      await manager.consumers.delete(STREAM_NAME, reader).catch(() => undefined);
    }
  }

  const publish = (event: NewEvent, publishOptions?: PublishOptions) =>
    publishOnce(event, event.id ?? randomUUID(), publishOptions?.expectedLastSeq);

  return {
    publish,
    // Each event is stored at most once (its id); JetStream has no atomic batch, so a batch that
    // fails part-way may have stored some of them, which its retry finds as duplicates.
    publishBatch: async (events) => {
      const results = await Promise.allSettled(
        events.map((event) => publish({ ...event, id: event.id ?? randomUUID() })),
      );
      const failed = results.find((result) => result.status === 'rejected');
      if (failed) throw failed.reason;
      return results.map((result) => (result as PromiseFulfilledResult<PublishResult>).value);
    },
    readLog,
    connect: (sink: DeliverySink): LiveDelivery => {
      if (live) throw new Error(`${name}: live delivery is already connected`);
      const current = new LiveConsumer(() => link.get(), sink, {
        name: async () => liveConsumerName(name, await slot.get()),
        owned: () => slot.renew(),
        logger,
        ...options.live,
      });
      live = current;
      current.start();
      checker = setInterval(() => {
        current.check().catch((err: unknown) => logger.warn({ err: describe(err) }, 'cannot check the consumer'));
      }, options.checkEveryMs ?? CHECK_EVERY_MS);
      checker.unref();
      return {};
    },
    // Ready once the live consumer has had nothing pending, while its configuration is the one made;
    // a cluster that cannot be reached later does not make the service unready (it answers reads and
    // retries its publishes), as on the HTTP bus.
    isReady: () => live?.isCaughtUp ?? link.current() !== undefined,
    close: async () => {
      closed = true;
      switches?.unsubscribe();
      clearInterval(checker);
      await live?.stop(true);
      await reading;
      await slot.release();
      await link.close();
    },
    liveStatus: () => live?.status,
  };
}

async function unavailableOnFailure<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (err) {
    throw new BusUnavailableError(describe(err));
  }
}
