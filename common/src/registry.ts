import type { EventType } from './events/catalog';

/**
 * The one list of the system's processes: each one's port, its built entry point, and for the
 * event-driven services what they publish and what their reducers handle. The launcher, the bus's
 * defaults (subscribers and who may publish what), the manifests' tests and the services read it;
 * adding a service is a folder and an entry here (and its manifest).
 */
export interface ServiceEntry {
  /** The port it listens on: the same on a laptop and in its Kubernetes Service. */
  readonly port: number;
  /** A second, read-only listener (the bus's views), which the ingress and the local gateway may reach. */
  readonly viewsPort?: number;
  /** The built entry point, relative to the repository root. */
  readonly script: string;
  /** The event types it may publish: the bus refuses any other type from its credential. */
  readonly publishes: readonly EventType[];
  /**
   * The ones among `publishes` that it publishes in reaction to an event (from its outbox) rather
   * than on a request: its consumer reads them in the startup replay, to learn they are stored,
   * whether its reducer handles them or not, and does not need them delivered live.
   */
  readonly reactions: readonly EventType[];
  /** The event types its reducer applies (its `apply` is typed over them); empty for a process that consumes no events. */
  readonly handles: readonly EventType[];
}

export const SERVICES = {
  'event-bus': {
    port: 4005,
    viewsPort: 4006,
    script: 'event-bus/dist/index.js',
    publishes: [],
    reactions: [],
    handles: [],
  },
  posts: {
    port: 4000,
    script: 'posts/dist/index.js',
    publishes: ['PostCreated'],
    reactions: [],
    handles: ['PostCreated'],
  },
  comments: {
    port: 4001,
    script: 'comments/dist/index.js',
    publishes: ['CommentCreated', 'CommentUpdated'],
    reactions: ['CommentUpdated'],
    handles: ['PostCreated', 'CommentCreated', 'CommentModerated', 'CommentUpdated'],
  },
  moderation: {
    port: 4003,
    script: 'moderation/dist/index.js',
    publishes: ['CommentModerated'],
    reactions: ['CommentModerated'],
    handles: ['CommentCreated'],
  },
  query: {
    port: 4002,
    script: 'query/dist/index.js',
    publishes: [],
    reactions: [],
    handles: ['PostCreated', 'CommentCreated', 'CommentModerated', 'CommentUpdated'],
  },
  client: { port: 3000, script: 'client/dist-server/index.js', publishes: [], reactions: [], handles: [] },
} as const satisfies Record<string, ServiceEntry>;

export type ServiceName = keyof typeof SERVICES;

/** Every process, in start order: the bus first, since every other one reads its log. */
export const SERVICE_NAMES = Object.keys(SERVICES) as ServiceName[];

/** The event types a service's reducer handles, as a type: `Handled<'moderation'>` is `'CommentCreated' | 'CommentModerated'`. */
export type Handled<S extends ServiceName> = (typeof SERVICES)[S]['handles'][number];

/** The services whose reducers apply events, as a type: the names `createEventService` takes. */
export type SubscriberName = { [S in ServiceName]: Handled<S> extends never ? never : S }[ServiceName];

/** The services that consume events (a subscription each). */
export const SUBSCRIBER_NAMES = SERVICE_NAMES.filter((name) => SERVICES[name].handles.length > 0);

/** The services that publish events (a publisher credential each). */
export const PUBLISHER_NAMES = SERVICE_NAMES.filter((name) => SERVICES[name].publishes.length > 0);

/** What the bus delivers to a service live: what it handles, less its own reactions (the replay reads those). */
export function deliveredTypes(name: ServiceName): EventType[] {
  const { handles, reactions } = SERVICES[name] as ServiceEntry;
  return handles.filter((type) => !reactions.includes(type));
}

/** What a service's consumer reads from the log: what it handles, and its own reactions (so that its outbox knows they are stored). */
export function replayedTypes(name: ServiceName): EventType[] {
  const { handles, reactions } = SERVICES[name] as ServiceEntry;
  return [...new Set([...handles, ...reactions])];
}

/**
 * The bus's `SUBSCRIBERS` setting for this system: each subscriber at its `POST /events` URL, sent
 * exactly the types it needs live, in batches (the format is in docs/architecture.md).
 */
export function subscribersSetting(eventsUrl: (name: ServiceName) => string): string {
  return SUBSCRIBER_NAMES.map(
    (name) => `${name}=${eventsUrl(name)}|types=${deliveredTypes(name).join('+')}|batch`,
  ).join(',');
}

/** The bus's `PUBLISH_ACL` setting: who may publish which types, `posts=PostCreated,comments=CommentCreated+CommentUpdated,...`. */
export function publishAclSetting(): string {
  return PUBLISHER_NAMES.map((name) => `${name}=${SERVICES[name].publishes.join('+')}`).join(',');
}
