import {
  DiscardPolicy,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  type JetStreamManager,
  type JsMsg,
  type StoredMsg,
  type StreamConfig,
} from '@nats-io/jetstream';
import { nanos, type MsgHdrs } from '@nats-io/transport-node';
import { TRACEPARENT_PATTERN } from '../../events/catalog';
import { nestsDeeperThan } from '../../service/json-depth';
import {
  maxConsumers,
  PARKED_STREAM_NAME,
  parseSubject,
  SLOTS_STREAM_NAME,
  slotsStreamSubjects,
  STREAM_NAME,
  streamSubjects,
} from './subjects';

/**
 * How long JetStream remembers a `Nats-Msg-Id`: a publish retried within it is stored once. Past it
 * the consumers' own dedupe (the engine and the reducers) keeps a second copy harmless.
 */
export const DUPLICATE_WINDOW_MS = 10 * 60_000;

/** The stream: every event kept (limits retention, no limit), on disk, in `replicas` copies. */
export function blogStreamConfig(replicas: number): Partial<StreamConfig> & { name: string } {
  return {
    name: STREAM_NAME,
    subjects: streamSubjects(),
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    num_replicas: replicas,
    duplicate_window: nanos(DUPLICATE_WINDOW_MS),
    // Messages are never removed one by one: the log is append-only, as the bus's is.
    deny_delete: true,
    deny_purge: true,
    // Every slot's consumers, and no more: a credential cannot fill the cluster with consumers.
    max_consumers: maxConsumers(),
  };
}

/** How long a replica's claim on its slot lasts unless renewed (see `replica-slot.ts`). */
export const SLOT_TTL_MS = 15_000;

/** The replicas' slot claims: the last one per subject, gone once its time is up. */
export function slotsStreamConfig(replicas: number): Partial<StreamConfig> & { name: string } {
  return {
    name: SLOTS_STREAM_NAME,
    subjects: slotsStreamSubjects(),
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    num_replicas: replicas,
    max_msgs_per_subject: 1,
    max_age: nanos(SLOT_TTL_MS),
    duplicate_window: nanos(SLOT_TTL_MS),
    max_consumers: 1,
  };
}

/**
 * JetStream's notices of the events a consumer terminated (parked after its last delivery, or not
 * an event), kept in a stream of their own: `/subscriptions` counts them per consumer, and an
 * operator reads there which seq to replay or skip.
 */
export const TERMINATED_ADVISORY_PREFIX = `$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.${STREAM_NAME}`;

export function parkedStreamConfig(replicas: number): Partial<StreamConfig> & { name: string } {
  return {
    name: PARKED_STREAM_NAME,
    subjects: [`${TERMINATED_ADVISORY_PREFIX}.*`],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    num_replicas: replicas,
    max_age: nanos(30 * 24 * 60 * 60_000),
  };
}

/** The JetStream API's "not found" error codes. */
export const STREAM_NOT_FOUND = 10059;
export const CONSUMER_NOT_FOUND = 10014;
/** A conditional publish whose subject's last sequence is another. */
export const WRONG_LAST_SEQUENCE = 10071;

export function isApiError(err: unknown, code: number): err is JetStreamApiError {
  return err instanceof JetStreamApiError && err.code === code;
}

/** JetStream says `wrong last sequence: <n>`. */
export function lastSequenceOf(err: JetStreamApiError): number {
  const match = /wrong last sequence: (\d+)/.exec(err.message);
  return match ? Number(match[1]) : 0;
}

/**
 * Creates the streams when they are missing: the first service to start does it, with the same
 * configuration as every other (a concurrent create of an identical stream succeeds). An existing
 * stream is left as it is: changing it is the operator's job.
 */
export async function ensureStream(manager: JetStreamManager, replicas: number): Promise<void> {
  for (const config of [blogStreamConfig(replicas), parkedStreamConfig(replicas), slotsStreamConfig(replicas)]) {
    try {
      await manager.streams.info(config.name);
    } catch (err) {
      if (!isApiError(err, STREAM_NOT_FOUND)) throw err;
      await manager.streams.add(config);
    }
  }
}

/** The header that carries an event's trace context (the W3C name, as NATS' own tracing uses it). */
export const TRACEPARENT_HEADER = 'traceparent';
/** The header that names the service that published an event (its NATS user: its permissions allow only its own types). */
export const PUBLISHER_HEADER = 'Mini-Blog-Publisher';

/** What a stored message is made of, whichever API read it. */
export interface StoredEvent {
  readonly seq: number;
  readonly subject: string;
  readonly id: string | undefined;
  readonly time: Date;
  readonly body: Uint8Array;
  readonly traceparent?: string;
  readonly publisher?: string;
}

/**
 * The messages read for the span after `after`, up to the first seq missing among them. The stream
 * has no holes (nothing is deleted), so a seq missing was not read: a fetch that ended early, a
 * message lost on its way, a read that found nothing there. The page ends before it, and the next
 * read starts there; a page that moved on past it would skip that event for good, and a read-your-
 * writes sync would return without it (a post answered 201, and a comment on it answered 404).
 */
export function contiguousFrom(after: number, stored: readonly StoredEvent[]): StoredEvent[] {
  const run: StoredEvent[] = [];
  for (const message of stored) {
    if (message.seq !== after + run.length + 1) break;
    run.push(message);
  }
  return run;
}

/** The optional headers of a stored message. */
export function headersOf(headers: MsgHdrs | undefined): Pick<StoredEvent, 'traceparent' | 'publisher'> {
  const traceparent = headers?.get(TRACEPARENT_HEADER);
  const publisher = headers?.get(PUBLISHER_HEADER);
  return { ...(traceparent ? { traceparent } : {}), ...(publisher ? { publisher } : {}) };
}

/** A message from a consumer as a stored event. */
export function fromJsMsg(message: JsMsg): StoredEvent {
  return {
    seq: message.seq,
    subject: message.subject,
    id: message.headers?.get('Nats-Msg-Id'),
    time: new Date(message.info.timestampNanos / 1e6),
    body: message.data,
    ...headersOf(message.headers),
  };
}

/** A message read by its seq (`getMessage`) as a stored event. */
export function fromStoredMsg(message: StoredMsg): StoredEvent {
  return {
    seq: message.seq,
    subject: message.subject,
    id: message.header?.get('Nats-Msg-Id'),
    time: message.time,
    body: message.data,
    ...headersOf(message.header),
  };
}

/** The event body on the wire: the event's `data` as JSON (type and key are in the subject, the id in `Nats-Msg-Id`). */
export function encodeData(data: unknown): string {
  return JSON.stringify(data);
}

/**
 * A stored message as the envelope it holds, not yet checked against the catalog (the engine checks
 * what it reads); `undefined` when it cannot be one (a subject outside the catalog, no id, a body
 * that is not JSON, or JSON nested deeper than any event: `MAX_JSON_DEPTH`): the caller skips it.
 */
export function toRawEnvelope(message: StoredEvent): Record<string, unknown> | undefined {
  const subject = parseSubject(message.subject);
  if (!subject || !message.id || nestsDeeperThan(message.body)) return undefined;
  let data: unknown;
  try {
    data = JSON.parse(Buffer.from(message.body).toString('utf8'));
  } catch {
    return undefined;
  }
  return {
    id: message.id,
    seq: message.seq,
    type: subject.type,
    data,
    time: message.time.toISOString(),
    ...(subject.key === undefined ? {} : { key: subject.key }),
    // A header that is no valid traceparent is left out: the event itself stays readable.
    ...(message.traceparent !== undefined && TRACEPARENT_PATTERN.test(message.traceparent)
      ? { traceparent: message.traceparent }
      : {}),
  };
}
