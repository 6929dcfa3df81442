import {
  eventDataSchemas,
  type CommentStatus,
  type Envelope,
  type EventData,
  type EventMeta,
  type EventType,
} from './catalog';

/** A comment as every public answer shows it. */
export interface PublicComment {
  readonly id: string;
  readonly content: string;
  readonly status: CommentStatus;
}

/** A post with its comments, as the feed and the live stream show it. */
export interface PublicPost {
  readonly id: string;
  readonly title: string;
  /** The log position of PostCreated: the feed's order (newest first) and its cursor. */
  readonly createdSeq: number;
  /** The log position of the last event that changed this post or its comments. */
  readonly version: number;
  readonly comments: readonly PublicComment[];
}

/**
 * The content of a comment is public only once it is approved: a pending comment may still be
 * rejected, and a rejected one must never be shown.
 */
export function toPublicComment(comment: { id: string; content: string; status: CommentStatus }): PublicComment {
  return { id: comment.id, content: comment.status === 'approved' ? comment.content : '', status: comment.status };
}

/** One page of the feed. */
export interface FeedPage {
  readonly posts: readonly PublicPost[];
  readonly nextCursor: string | null;
}

/** A read-model change on the live stream: the whole post after the change. */
export interface PostChange {
  readonly seq: number;
  readonly post: PublicPost;
  /** The trace context of the push, when traced: the browser's handling continues that trace. */
  readonly traceparent?: string;
}

/**
 * A subscriber's delivery state, as the bus reports it on `GET /subscriptions`: never a payload,
 * an internal address or a subscriber's answer.
 */
export interface SubscriptionStatus {
  readonly name: string;
  /** Every event up to here is dealt with (delivered, filtered out or parked). */
  readonly cursor: number;
  /** The last event the subscriber acknowledged. */
  readonly acked: number;
  readonly head: number;
  readonly lag: number;
  readonly inFlight: number;
  readonly attempts: number;
  readonly parked: number;
  /** The seq of the rejected event a `mode: 'block'` subscriber is stopped at. */
  readonly blockedAt: number | null;
  /** A short reason (`HTTP 500`, `timeout`, `connection refused`), not the subscriber's answer. */
  readonly lastError: string | null;
  readonly lastErrorAt: string | null;
  readonly mode: 'park' | 'block';
  /** Only these types are delivered; `null` means every type. */
  readonly types: readonly string[] | null;
  readonly batch: boolean;
}

/**
 * A parked event as the bus's operators list it (`GET /admin/parked`, on either transport): metadata
 * only, never the payload or the subscriber's answer.
 */
export interface ParkedEvent {
  /** The subscriber that refused it (on JetStream: the durable consumer that terminated it). */
  readonly subscriber: string;
  readonly seq: number;
  readonly id: string;
  readonly type: string;
  /** Deliveries before it was parked. */
  readonly attempts: number;
  /** A short reason, not the subscriber's answer. */
  readonly reason: string;
  readonly parkedAt: string;
}

/**
 * The few words a network failure is shown with (a subscriber's `lastError`, a load run's failures),
 * by its error code. Each reader adds the codes it meets that others do not.
 */
export const NETWORK_FAILURE_WORDS: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host not found',
};

/** The catalog's own fields of an event type's data, without what a loose object keeps beyond them. */
type CatalogFields<T extends EventType> = {
  readonly [K in keyof (typeof eventDataSchemas)[T]['shape']]: EventData<T>[K & keyof EventData<T>];
};

/** An event's payload as anyone may see it: the catalog's fields only, a comment's content only once approved. */
export type PublicEventData = { [T in EventType]: CatalogFields<T> }[EventType];

/** One event of the flow with its payload (`GET /flow/events/:seq`): what the flow view shows on demand. */
export interface PublicEvent extends EventMeta {
  readonly data: PublicEventData;
}

/**
 * An event as the public views show it. Fields a newer publisher added beyond the catalog's are left
 * out (nobody has said they are public), and the content of an event with a status that is not
 * `approved` (a pending or rejected comment) is `''`, as on every public answer. Both rules read the
 * catalog, so a new event type is shown without a change here.
 */
export function toPublicEvent(event: Envelope, meta: Pick<EventMeta, 'publisher'> = {}): PublicEvent {
  const given = event.data as Readonly<Record<string, unknown>>;
  const data: Record<string, unknown> = {};
  for (const field of Object.keys(eventDataSchemas[event.type].shape)) if (field in given) data[field] = given[field];
  if ('content' in data && 'status' in data && data.status !== 'approved') data.content = '';
  return {
    seq: event.seq,
    type: event.type,
    id: event.id,
    time: event.time,
    ...(meta.publisher === undefined ? {} : { publisher: meta.publisher }),
    ...(event.traceparent === undefined ? {} : { traceId: traceIdOf(event.traceparent) }),
    data: data as PublicEventData,
  };
}

/** The trace id of a W3C traceparent (`00-<trace id>-<span id>-<flags>`). */
export function traceIdOf(traceparent: string): string {
  return traceparent.slice(3, 35);
}

/**
 * One finished span as a process's trace store keeps it (`GET /traces/:traceId`): times in
 * milliseconds since the epoch, and only the attributes the store keeps (docs/security.md).
 */
export interface TraceSpan {
  readonly traceId: string;
  readonly spanId: string;
  /** Absent for the trace's root, and for a span whose parent is in another trace (see `links`). */
  readonly parentSpanId?: string;
  /** The process that recorded it: `browser`, `gateway`, `event-bus`, `posts`, ... */
  readonly service: string;
  readonly name: string;
  readonly kind: 'internal' | 'server' | 'client' | 'producer' | 'consumer';
  readonly start: number;
  readonly duration: number;
  readonly status: 'ok' | 'error';
  readonly attributes: Readonly<Record<string, string | number | boolean>>;
  /** Spans of other traces it belongs with: a batch that mixes traces links to each one's publish. */
  readonly links: readonly { readonly traceId: string; readonly spanId: string }[];
}

/** A trace gathered from every process (`GET /traces/:traceId`): its spans, and the processes that did not answer. */
export interface TraceAnswer {
  readonly traceId: string;
  readonly spans: readonly TraceSpan[];
  readonly unreachable: readonly string[];
}

/** A W3C trace id: 32 lower-case hex digits, not all zero. */
export const TRACE_ID_PATTERN = /^(?!0{32})[0-9a-f]{32}$/;

/** A W3C span id: 16 lower-case hex digits, not all zero. */
export const SPAN_ID_PATTERN = /^(?!0{16})[0-9a-f]{16}$/;

export { SPAN_EXPORT_PATH } from './constants';

/** In bytes: the largest span export the relay reads (a 413 beyond it); the browser sends batches well under it. */
export const SPAN_EXPORT_MAX_BYTES = 64 * 1024;

export { BROWSER_SERVICE } from './constants';
