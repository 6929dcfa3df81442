import {
  baseConfigSchema,
  EVENT_TYPES,
  faultSwitchesEnv,
  loadConfig,
  portWithDefault,
  publishAclSetting,
  SERVICES,
  streamLimitsEnv,
  SUBSCRIBER_NAMES,
  type EventType,
  type SubscriptionStatus,
} from '@mini-blog/common';
import { z } from 'zod';

/** What happens to an event the subscriber keeps rejecting: parked and skipped, or delivery stops. */
export type DeliveryMode = SubscriptionStatus['mode'];

export interface SubscriberConfig {
  readonly name: string;
  readonly url: string;
  /** Only these types are delivered; `null` means every type. */
  readonly types: readonly EventType[] | null;
  /** The subscriber takes a JSON array of envelopes per request. */
  readonly batch: boolean;
  /** What happens to an event the subscriber keeps rejecting: parked and skipped, or delivery stops. */
  readonly mode: DeliveryMode;
}

/** The course's setup: every subscriber of the registry at its port on this machine, sent every event, one at a time. */
export const DEFAULT_SUBSCRIBERS = SUBSCRIBER_NAMES.map(
  (name) => `${name}=http://localhost:${SERVICES[name].port}/events`,
).join(',');

const NAME = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * `name=url|option|option,...` with the options `types=A+B`, `batch` and `mode=park|block`
 * (docs/architecture.md). An empty value means a bus without subscribers.
 */
export function parseSubscribers(value: string): SubscriberConfig[] {
  const subscribers: SubscriberConfig[] = [];
  for (const entry of value
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)) {
    const [target = '', ...options] = entry.split('|').map((part) => part.trim());
    const eq = target.indexOf('=');
    const name = target.slice(0, eq);
    const url = target.slice(eq + 1);
    if (eq < 0 || !NAME.test(name))
      throw new Error(`"${entry}": must start with name=url, the name made of letters, digits, - and _`);
    if (subscribers.some((other) => other.name === name)) throw new Error(`"${name}": must appear once`);
    if (!isHttpUrl(url)) throw new Error(`"${name}": ${url} must be an http(s) URL`);
    let types: EventType[] | null = null;
    let batch = false;
    let mode: DeliveryMode = 'park';
    for (const option of options) {
      const [key, optionValue] = option.split('=', 2);
      if (key === 'batch' && optionValue === undefined) {
        batch = true;
      } else if (key === 'mode' && (optionValue === 'park' || optionValue === 'block')) {
        mode = optionValue;
      } else if (key === 'types' && optionValue) {
        types = optionValue.split('+').map((type) => {
          if (!(EVENT_TYPES as string[]).includes(type))
            throw new Error(`"${name}": type ${type} must be one of ${EVENT_TYPES.join(', ')}`);
          return type as EventType;
        });
      } else {
        throw new Error(`"${name}": option "${option}" must be one of types=A+B, batch, mode=park, mode=block`);
      }
    }
    subscribers.push({ name, url, types, batch, mode });
  }
  return subscribers;
}

/** Who may publish which event types: principal → types. */
export type PublishAcl = ReadonlyMap<string, ReadonlySet<EventType>>;

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
    if (eq < 0 || !NAME.test(principal))
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

function isHttpUrl(value: string): boolean {
  try {
    return ['http:', 'https:'].includes(new URL(value).protocol);
  } catch {
    return false;
  }
}

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
