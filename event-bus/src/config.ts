import { EVENT_TYPES, type EventType } from '@mini-blog/common/events';
import {
  mayPublishKey,
  publishAclSetting,
  SERVICES,
  traceSourcesSetting,
  SUBSCRIBER_NAMES,
  type ServiceName,
} from '@mini-blog/common/registry';
import {
  baseConfigSchema,
  faultSwitchesEnv,
  loadConfig,
  portWithDefault,
  streamLimitsEnv,
  parseTraceSources,
} from '@mini-blog/common/service';
import { parseSubscribers, PRINCIPAL_NAME } from '@mini-blog/common/transport/http';
import { z } from 'zod';

export { parseSubscribers, type DeliveryMode, type SubscriberConfig } from '@mini-blog/common/transport/http';

/** The course's setup: every subscriber of the registry at its port on this machine, sent every event, one at a time. */
export const DEFAULT_SUBSCRIBERS = SUBSCRIBER_NAMES.map(
  (name) => `${name}=http://localhost:${SERVICES[name].port}/events`,
).join(',');

/** Where the views gather traces from by default: every service on this machine. */
export const DEFAULT_TRACE_SOURCES = traceSourcesSetting((name) => `http://localhost:${SERVICES[name].port}`);

/** Who may publish which event types: principal → types. */
export type PublishAcl = ReadonlyMap<string, ReadonlySet<EventType>>;

/** Whether a principal may publish an event of this type under this key. */
export type KeyOwnership = (principal: string, type: EventType, key: string) => boolean;

/**
 * The registry's key ownership (`SERVICES[name].keys`, `mayPublishKey`): a service publishes only
 * under the prefixes it owns, and a principal outside the registry (one that `PUBLISH_ACL` adds, such
 * as a course service) under none, so no one can move a key that a service's conditions rely on.
 */
export const registryKeyOwnership: KeyOwnership = (principal, type, key) =>
  Object.hasOwn(SERVICES, principal) && mayPublishKey(principal as ServiceName, type, key);

/** What each service of the registry publishes: `posts=PostCreated,comments=CommentCreated+CommentUpdated,...`. */
export const DEFAULT_PUBLISH_ACL = publishAclSetting();

/** `principal=Type+Type,...`: each principal once, each type from the catalog. */
export function parsePublishAcl(value: string): PublishAcl {
  const acl = new Map<string, ReadonlySet<EventType>>();
  for (const entry of value
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)) {
    const eq = entry.indexOf('=');
    const principal = entry.slice(0, eq);
    if (eq < 0 || !PRINCIPAL_NAME.test(principal))
      throw new Error(`"${entry}": must be principal=Type+Type, the principal made of letters, digits, - and _`);
    if (acl.has(principal)) throw new Error(`"${principal}": must appear once`);
    const types = entry
      .slice(eq + 1)
      .split('+')
      .map((type) => type.trim());
    for (const type of types) {
      if (!(EVENT_TYPES as string[]).includes(type))
        throw new Error(`"${principal}": type "${type}" must be one of ${EVENT_TYPES.join(', ')}`);
    }
    acl.set(principal, new Set(types as EventType[]));
  }
  if (acl.size === 0) throw new Error('must name at least one principal and the types it may publish');
  return acl;
}

/** A setting parsed by one of the functions above; its error becomes the setting's issue. */
const parsed =
  <T>(parse: (value: string) => T) =>
  (value: string, ctx: z.RefinementCtx) => {
    try {
      return parse(value);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
      return z.NEVER;
    }
  };

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

export const busEnvSchema = baseConfigSchema.extend({
  ...portWithDefault(SERVICES['event-bus'].port),
  /** The read-only views (`/subscriptions`, `/flow`, `/flow/stream`, `/metrics`) listen here, apart from the API. */
  VIEWS_PORT: portWithDefault(SERVICES['event-bus'].viewsPort).PORT,
  DATA_DIR: z.string().min(1).default('./data'),
  /** One credential file per principal; required, read when the bus starts (`readPrincipals`). */
  CREDENTIALS_DIR: z.string().trim().min(1).optional(),
  SUBSCRIBERS: z.string().default(DEFAULT_SUBSCRIBERS).transform(parsed(parseSubscribers)),
  PUBLISH_ACL: z.string().default(DEFAULT_PUBLISH_ACL).transform(parsed(parsePublishAcl)),
  /** The processes whose recent spans `GET /traces/:traceId` gathers: `name=url`, comma-separated. */
  TRACE_SOURCES: z.string().default(DEFAULT_TRACE_SOURCES).transform(parsed(parseTraceSources)),
  /** The bounds of `/flow/stream`, as query's live stream has them. */
  ...streamLimitsEnv,
  /** 4xx answers (other than 408/429) for one event before it is parked, or blocks the subscriber. */
  POISON_ATTEMPTS: positiveInt(5),
  /** The first retry waits between this and twice this; each further one doubles the range. */
  RETRY_BASE_MS: positiveInt(100),
  RETRY_MAX_MS: positiveInt(5_000),
  DELIVERY_TIMEOUT_MS: positiveInt(10_000),
  /** The fault switches under `/admin/faults` (admin only); without it those routes do not exist. */
  ...faultSwitchesEnv,
});

export type BusConfig = z.infer<typeof busEnvSchema>;

export function loadBusConfig(env: NodeJS.ProcessEnv = process.env): BusConfig {
  return loadConfig(busEnvSchema, env);
}
