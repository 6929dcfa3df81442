import { EVENT_TYPES, type EventType } from '../../events/catalog';
import { EVENT_CLIENT_NAMES, keyedTypes, SERVICES, type ServiceEntry, type ServiceName } from '../../registry';

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
 * Where each replica's claim on its slot is kept (see `replica-slot.ts`): one subject per service
 * and slot, `replicas.<service>.<slot>`, whose last message is the claim.
 */
export const SLOTS_STREAM_NAME = 'BLOG_REPLICAS';
const SLOTS_PREFIX = 'replicas';

/**
 * Replicas of one service that may run at once (a rolling update's extra pod included). Each holds
 * one slot, and its consumers are named after it, so that a service's NATS user can be allowed its
 * own consumers by name: NATS permissions match whole subject tokens, never a prefix, and a consumer
 * name is one token.
 */
export const REPLICA_SLOTS = 8;

/** The slot claim's subject. */
export function slotSubject(service: string, slot: number | '*'): string {
  return `${SLOTS_PREFIX}.${service}.${slot}`;
}

/** The slots stream's subjects. */
export function slotsStreamSubjects(): string[] {
  return [`${SLOTS_PREFIX}.*.*`];
}

/** The durable consumer a replica receives its events from. */
export function liveConsumerName(service: string, slot: number): string {
  return `${service}-${slot}`;
}

/** The short-lived consumer a replica reads spans of the log with (its startup replay, a long gap). */
export function readerConsumerName(service: string, slot: number): string {
  return `${service}-${slot}-log`;
}

/** Consumers of the stream at most: every slot's two, for every service with a NATS user. */
export function maxConsumers(): number {
  return EVENT_CLIENT_NAMES.length * REPLICA_SLOTS * 2;
}

/**
 * A user's inbox prefix: replies (publish acks, pulled messages, API answers) come to subjects under
 * it, and only this user may subscribe there, so no one reads another principal's replies.
 */
export function inboxPrefix(user: string): string {
  return `_INBOX_${user}`;
}

/**
 * Where the operator (as `admin`, the only user who may publish there) sets a service's fault
 * switches when `FAULT_SWITCHES=on`: a core NATS request, never stored, which the service answers
 * with its switches. Nobody listens there otherwise.
 */
export function faultSubject(service: string): string {
  return `mini-blog.faults.${service}`;
}

/**
 * Where a service answers the operator's request on its fault subject: `admin` asks with a reply
 * subject here (`askSwitches`), the service may publish here and nowhere else outside its events and
 * its own JetStream API, and only `admin` may subscribe. A fixed subject rather than NATS's
 * `allow_responses`: with that set, the server records the reply subject of every message it
 * delivers to the user, each pulled event's `$JS.ACK` subject included, and scans that record
 * on every delivery once it holds 4,096 (nats-server 2.9), which made live delivery fall behind.
 */
export function faultAnswerSubject(service: string, id: string | '*'): string {
  return `mini-blog.fault-answers.${service}.${id}`;
}

/** The read-only principal of the views process: the stream's and the consumers' state, the log's messages. */
export const VIEWS_PRINCIPAL = 'views';
/** The credential the cluster's nodes authenticate their routes to one another with. */
export const ROUTE_CREDENTIAL = 'nats-route';
/** The user name the nodes' routes present (the password is the route credential). */
export const ROUTE_USER = 'route';

export type NatsPrincipal = ServiceName | 'admin' | typeof VIEWS_PRINCIPAL;

/** What a service's user publishes of its own types: a subject per key only where it owns keys (the registry's `keys`). */
function eventSubjects(service: ServiceName): string[] {
  const keyed = keyedTypes(service);
  return (SERVICES[service] as ServiceEntry).publishes.map((type) =>
    keyed.includes(type) ? typeSubject(type) : subjectOf(type),
  );
}

/** What a service may do to its own consumers, by name: create (or update), read, delete, pull, acknowledge. */
function consumerApi(service: ServiceName): string[] {
  return Array.from({ length: REPLICA_SLOTS }, (_, slot) => {
    const live = liveConsumerName(service, slot);
    const reader = readerConsumerName(service, slot);
    return [
      `$JS.API.CONSUMER.CREATE.${STREAM_NAME}.${live}`,
      `$JS.API.CONSUMER.INFO.${STREAM_NAME}.${live}`,
      `$JS.API.CONSUMER.DELETE.${STREAM_NAME}.${live}`,
      `$JS.API.CONSUMER.MSG.NEXT.${STREAM_NAME}.${live}`,
      `$JS.ACK.${STREAM_NAME}.${live}.>`,
      `$JS.API.CONSUMER.CREATE.${STREAM_NAME}.${reader}`,
      `$JS.API.CONSUMER.DELETE.${STREAM_NAME}.${reader}`,
      `$JS.API.CONSUMER.MSG.NEXT.${STREAM_NAME}.${reader}`,
    ];
  }).flat();
}

/**
 * A principal's NATS permissions, all from the registry: a service publishes only its own event
 * types (with a key only on the types it owns keys of), reads the stream and may create the
 * streams when they are missing (never change, purge or delete them), claims only its own slots
 * and runs only its own consumers (by name); `views` reads the state of the stream and of the
 * consumers and the notices of parked events, and nothing else; `admin` may do anything in the
 * account (the operator's tools). Everyone receives replies only at its own inbox prefix; a service
 * also hears its fault subject (which only `admin` may publish to) and answers on its own fault
 * answer subject (which only `admin` may subscribe to).
 */
export function natsPermissions(principal: NatsPrincipal): NatsPermissions {
  if (principal === 'admin') return { publish: { allow: ['>'] }, subscribe: { allow: ['>'] } };
  const inbox = { allow: [`${inboxPrefix(principal)}.>`] };
  if (principal === VIEWS_PRINCIPAL) {
    return {
      publish: {
        allow: [
          `$JS.API.STREAM.INFO.${STREAM_NAME}`,
          `$JS.API.STREAM.INFO.${PARKED_STREAM_NAME}`,
          `$JS.API.STREAM.MSG.GET.${STREAM_NAME}`,
          // JetStream's notices of parked events, which `/parked` lists.
          `$JS.API.STREAM.MSG.GET.${PARKED_STREAM_NAME}`,
          `$JS.API.CONSUMER.LIST.${STREAM_NAME}`,
        ],
      },
      subscribe: inbox,
    };
  }
  const streams = [STREAM_NAME, PARKED_STREAM_NAME, SLOTS_STREAM_NAME].flatMap((stream) => [
    `$JS.API.STREAM.INFO.${stream}`,
    `$JS.API.STREAM.CREATE.${stream}`,
  ]);
  return {
    publish: {
      allow: [
        ...eventSubjects(principal),
        ...streams,
        `$JS.API.STREAM.MSG.GET.${STREAM_NAME}`,
        `$JS.API.STREAM.MSG.GET.${SLOTS_STREAM_NAME}`,
        slotSubject(principal, '*'),
        ...consumerApi(principal),
        faultAnswerSubject(principal, '*'),
      ],
    },
    subscribe: { allow: [...inbox.allow, faultSubject(principal)] },
  };
}

/** The principals with a NATS user: every service that publishes or consumes events, the views, and `admin`. */
export function natsPrincipals(): NatsPrincipal[] {
  return [...EVENT_CLIENT_NAMES, VIEWS_PRINCIPAL, 'admin'];
}
