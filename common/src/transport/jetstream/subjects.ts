import { EVENT_TYPES, type EventType } from '../../events/catalog';
import {
  PUBLISHER_NAMES,
  SERVICE_NAMES,
  SERVICES,
  SUBSCRIBER_NAMES,
  type ServiceEntry,
  type ServiceName,
} from '../../registry';

/**
 * Where the blog's events live on NATS JetStream: one stream, one subject per event type and key.
 * Every subject has three tokens, `blog.<Type>.<key token>`, so that a consumer can filter on one
 * type (`blog.CommentCreated.*`) and a conditional publish can be checked against one key's subject.
 */

/** The stream that holds every event, in one order: its sequence is the envelope's `seq`. */
export const STREAM_NAME = 'BLOG';
/** Where JetStream's notices of parked events are kept (see `parkedStreamConfig`). */
export const PARKED_STREAM_NAME = 'BLOG_PARKED';
const PREFIX = 'blog';
/** The key token of an event published without a key: not a base64url string, so never a key's. */
const NO_KEY = '_';

/** The stream's subjects: one wildcard per event type. */
export function streamSubjects(): string[] {
  return EVENT_TYPES.map((type) => `${PREFIX}.${type}.*`);
}

/** Every event of one type, for a consumer's filter. */
export function typeSubject(type: EventType): string {
  return `${PREFIX}.${type}.*`;
}

/** The event type a consumer's filter (`typeSubject`) takes. */
export function typeOfFilter(filter: string): EventType | undefined {
  const [prefix, type, token, ...rest] = filter.split('.');
  return prefix === PREFIX &&
    token === '*' &&
    rest.length === 0 &&
    (EVENT_TYPES as readonly string[]).includes(type ?? '')
    ? (type as EventType)
    : undefined;
}

/** The subject an event is published on; the key as base64url, since a subject token cannot hold `.`, `*`, `>` or spaces. */
export function subjectOf(type: EventType, key?: string): string {
  return `${PREFIX}.${type}.${key === undefined ? NO_KEY : Buffer.from(key, 'utf8').toString('base64url')}`;
}

/** The event type and key of a stored message's subject; undefined for a subject outside the catalog. */
export function parseSubject(subject: string): { type: EventType; key: string | undefined } | undefined {
  const [prefix, type, token, ...rest] = subject.split('.');
  if (
    prefix !== PREFIX ||
    token === undefined ||
    rest.length > 0 ||
    !(EVENT_TYPES as readonly string[]).includes(type ?? '')
  )
    return undefined;
  return {
    type: type as EventType,
    key: token === NO_KEY ? undefined : Buffer.from(token, 'base64url').toString('utf8'),
  };
}

export interface NatsPermissions {
  readonly publish: { readonly allow: readonly string[] };
  readonly subscribe: { readonly allow: readonly string[] };
}

/**
 * What every service's NATS user may ask of JetStream: read the stream's state and messages, create
 * it if it is missing (never change, purge or delete it), run and acknowledge its own consumers.
 */
const SERVICE_API = [
  '$JS.API.INFO',
  `$JS.API.STREAM.INFO.${STREAM_NAME}`,
  `$JS.API.STREAM.CREATE.${STREAM_NAME}`,
  `$JS.API.STREAM.INFO.${PARKED_STREAM_NAME}`,
  `$JS.API.STREAM.CREATE.${PARKED_STREAM_NAME}`,
  `$JS.API.STREAM.MSG.GET.${STREAM_NAME}`,
  `$JS.API.CONSUMER.CREATE.${STREAM_NAME}`,
  `$JS.API.CONSUMER.CREATE.${STREAM_NAME}.>`,
  `$JS.API.CONSUMER.DURABLE.CREATE.${STREAM_NAME}.>`,
  `$JS.API.CONSUMER.INFO.${STREAM_NAME}.>`,
  `$JS.API.CONSUMER.DELETE.${STREAM_NAME}.>`,
  `$JS.API.CONSUMER.MSG.NEXT.${STREAM_NAME}.>`,
  `$JS.ACK.${STREAM_NAME}.>`,
];

/** Replies (publish acks, pulled messages, API answers) come to the client's inbox. */
const INBOX = ['_INBOX.>'];

/**
 * A principal's NATS permissions: a service publishes only its own event types (the registry's
 * `publishes`, the same table as the HTTP bus's), and `admin` may do anything in the account (the
 * operator's replay and skip, the read-only views).
 */
export function natsPermissions(principal: ServiceName | 'admin'): NatsPermissions {
  if (principal === 'admin') return { publish: { allow: ['>'] }, subscribe: { allow: ['>'] } };
  const own = (SERVICES[principal] as ServiceEntry).publishes.map((type) => typeSubject(type));
  return { publish: { allow: [...own, ...SERVICE_API] }, subscribe: { allow: INBOX } };
}

/** The principals with a NATS user: every service that publishes or consumes events, and `admin`. */
export function natsPrincipals(): (ServiceName | 'admin')[] {
  const services = SERVICE_NAMES.filter((name) => PUBLISHER_NAMES.includes(name) || SUBSCRIBER_NAMES.includes(name));
  return [...services, 'admin'];
}
