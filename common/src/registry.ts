import type { EventType } from './events/catalog';
import { SPAN_EXPORT_PATH } from './events/public-views';

/**
 * A public path: a request whose path it matches is sent to the service, by the ingress, the Gateway
 * API routes and the local gateway alike (all three are made from these entries).
 */
export interface PublicRoute {
  /**
   * The path as ingress-nginx matches it: a case-insensitive regular expression anchored at the
   * start, `/posts/create` or `/posts/?(.*)/comments`. Among the paths that match a request, the
   * longest wins, whichever service declares it. A path that is a literal, or a literal followed by
   * `/?(.*)`, becomes a path prefix in the Gateway API routes, any other a regular expression.
   */
  readonly path: string;
  /** A server-sent event stream: proxied unbuffered and without a request timeout. */
  readonly stream?: boolean;
}

/**
 * The one list of the system's processes: each one's port, its built entry point, its public routes,
 * and for the event-driven services what they publish and what their reducers handle. The launcher
 * and its gateway, the bus's defaults (subscribers and who may publish what), the generated
 * Kubernetes manifests (`npm run generate`), the tests and the services read it; adding a service is
 * a folder and an entry here (docs/recipes.md).
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
  /**
   * The keys it owns (a conditional publish's key, `publish(event, { expectedLastSeq })`), by the
   * event type it publishes them on: a key starts with the prefix given (`comments:` then a post's
   * id). Every other event it publishes carries no key. Each prefix has one owner, so no principal
   * can move the position of another's key (and block its conditional publishes): the HTTP bus
   * refuses a key its publisher does not own, and on JetStream the key is in the subject, which the
   * publisher's NATS permissions allow only for these types (`natsPermissions`).
   */
  readonly keys: Partial<Record<EventType, string>>;
  /**
   * Its public paths. A service with a read-only second listener (`viewsPort`) is reached there and
   * only there: its own port is never public.
   */
  readonly routes: readonly PublicRoute[];
  /**
   * Settings of its own (env variables) that a deployment passes it from the shared configuration
   * (the ConfigMap mini-blog-config), with their value there.
   */
  readonly settings?: Readonly<Record<string, string>>;
}

export const SERVICES = {
  'event-bus': {
    port: 4005,
    viewsPort: 4006,
    script: 'event-bus/dist/index.js',
    publishes: [],
    reactions: [],
    handles: [],
    keys: {},
    // Not plain /flow: at 5 characters it would sort after the client's /?(.*) and never be reached.
    routes: [
      { path: '/subscriptions' },
      { path: '/flow/?(.*)' },
      { path: '/flow/stream', stream: true },
      // A trace gathered from every process's recent spans (docs/security.md says what it shows).
      { path: '/traces/?(.*)' },
    ],
  },
  posts: {
    port: 4000,
    script: 'posts/dist/index.js',
    publishes: ['PostCreated'],
    reactions: [],
    handles: ['PostCreated'],
    keys: {},
    // Its own GET /posts (the course's posts map) is not public: the public /posts is query's.
    routes: [{ path: '/posts/create' }],
  },
  comments: {
    port: 4001,
    script: 'comments/dist/index.js',
    publishes: ['CommentCreated', 'CommentUpdated'],
    reactions: ['CommentUpdated'],
    handles: ['PostCreated', 'CommentCreated', 'CommentModerated', 'CommentUpdated'],
    keys: { CommentCreated: 'comments:' },
    routes: [{ path: '/posts/?(.*)/comments' }],
  },
  moderation: {
    port: 4003,
    script: 'moderation/dist/index.js',
    publishes: ['CommentModerated'],
    reactions: ['CommentModerated'],
    handles: ['CommentCreated'],
    keys: {},
    routes: [],
    settings: { BLOCKED_WORDS: 'orange' },
  },
  query: {
    port: 4002,
    script: 'query/dist/index.js',
    publishes: [],
    reactions: [],
    handles: ['PostCreated', 'CommentCreated', 'CommentModerated', 'CommentUpdated'],
    keys: {},
    // The course map, the paged feed (/posts/feed) and the live stream.
    routes: [{ path: '/posts' }, { path: '/posts/stream', stream: true }],
  },
  client: {
    port: 4007,
    script: 'client/dist-server/index.js',
    publishes: [],
    reactions: [],
    handles: [],
    keys: {},
    // The browser's span exports (OTLP/HTTP, sent on to the collector: common/src/service/span-relay.ts);
    // and whatever no other path claims: the pages, and the paths of the bus's API and admin routes.
    routes: [{ path: SPAN_EXPORT_PATH }, { path: '/?(.*)' }],
  },
} as const satisfies Record<string, ServiceEntry>;

export type ServiceName = keyof typeof SERVICES;

/** Every process, in start order: the bus first, since every other one reads its log. */
export const SERVICE_NAMES = Object.keys(SERVICES) as ServiceName[];

/** The event types a service's reducer handles, as a type: `Handled<'moderation'>` is `'CommentCreated' | 'CommentModerated'`. */
export type Handled<S extends ServiceName> = (typeof SERVICES)[S]['handles'][number];

/** The services whose reducers apply events, as a type: the names `createEventService` takes. */
export type SubscriberName = { [S in ServiceName]: Handled<S> extends never ? never : S }[ServiceName];

/** Whether a service consumes events: its reducer handles some. */
export function isSubscriber(name: ServiceName): name is SubscriberName {
  return SERVICES[name].handles.length > 0;
}

/** The services that consume events (a subscription each). */
export const SUBSCRIBER_NAMES = SERVICE_NAMES.filter(isSubscriber);

/** The services that publish events (a publisher credential each). */
export const PUBLISHER_NAMES = SERVICE_NAMES.filter((name) => SERVICES[name].publishes.length > 0);

/**
 * The services that use the log, publishing or consuming events: the bus's API clients on the HTTP
 * bus, the services with a NATS user on JetStream.
 */
export const EVENT_CLIENT_NAMES: readonly ServiceName[] = SERVICE_NAMES.filter(
  (name) => PUBLISHER_NAMES.includes(name) || isSubscriber(name),
);

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

/**
 * Whether `name` may publish an event of `type` under `key`: without a key always (its right to the
 * type is checked apart), with one only under a prefix it owns for that type, followed by at least
 * one character.
 */
export function mayPublishKey(name: ServiceName, type: EventType, key: string | undefined): boolean {
  if (key === undefined) return true;
  const prefix = (SERVICES[name] as ServiceEntry).keys[type];
  return prefix !== undefined && key.length > prefix.length && key.startsWith(prefix);
}

/** The event types a publisher puts keys on (its `keys`), which only it may publish. */
export function keyedTypes(name: ServiceName): EventType[] {
  return Object.keys((SERVICES[name] as ServiceEntry).keys) as EventType[];
}

/** A public route with the service and port it leads to. */
export interface PublicRouteOf extends PublicRoute {
  readonly service: ServiceName;
  /** The service's views port if it has one, else its port. */
  readonly port: number;
}

/** Every service's public routes, in registry order; a path declared twice is a mistake, refused here. */
export function publicRoutes(services: Readonly<Record<string, ServiceEntry>> = SERVICES): PublicRouteOf[] {
  const routes = Object.entries(services).flatMap(([service, entry]) =>
    entry.routes.map((route) => ({ ...route, service: service as ServiceName, port: entry.viewsPort ?? entry.port })),
  );
  for (const [index, route] of routes.entries()) {
    const first = routes.findIndex((other) => other.path.toLowerCase() === route.path.toLowerCase());
    if (first !== index)
      throw new Error(
        `registry: the path ${route.path} of ${route.service} is declared by ${routes[first]!.service} too`,
      );
  }
  return routes;
}

/**
 * The `TRACE_SOURCES` setting of the process that gathers traces (the bus's views): every
 * event-driven service at the URL of its own port, where it answers `GET /traces/:traceId` from its
 * recent spans; `extra` adds others (the local gateway).
 */
export function traceSourcesSetting(
  urlOf: (name: ServiceName) => string,
  extra: Readonly<Record<string, string>> = {},
): string {
  return [
    ...SUBSCRIBER_NAMES.map((name) => `${name}=${urlOf(name)}`),
    ...Object.entries(extra).map(([name, url]) => `${name}=${url}`),
  ].join(',');
}
