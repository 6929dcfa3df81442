import { baseConfigSchema, ConfigError, EVENT_TYPES, loadConfig, portWithDefault, SERVICES, SUBSCRIBER_NAMES, type EventType, type SubscriptionStatus } from '@mini-blog/common';
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
  /** Deliveries are signed with it (HMAC-SHA256) when set; from `DELIVERY_SECRET_<NAME>`. */
  readonly secret?: string;
}

/** The course's setup: every subscriber of the registry at its port on this machine, sent every event, one at a time. */
export const DEFAULT_SUBSCRIBERS = SUBSCRIBER_NAMES.map((name) => `${name}=http://localhost:${SERVICES[name].port}/events`).join(',');

const NAME = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * `name=url|option|option,...` with the options `types=A+B`, `batch` and `mode=park|block`
 * (docs/architecture.md). An empty value means a bus without subscribers.
 */
export function parseSubscribers(value: string): SubscriberConfig[] {
  const subscribers: SubscriberConfig[] = [];
  for (const entry of value.split(',').map((part) => part.trim()).filter(Boolean)) {
    const [target = '', ...options] = entry.split('|').map((part) => part.trim());
    const eq = target.indexOf('=');
    const name = target.slice(0, eq);
    const url = target.slice(eq + 1);
    if (eq < 0 || !NAME.test(name)) throw new Error(`"${entry}": must start with name=url, the name made of letters, digits, - and _`);
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
          if (!(EVENT_TYPES as string[]).includes(type)) throw new Error(`"${name}": type ${type} must be one of ${EVENT_TYPES.join(', ')}`);
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
  DATA_DIR: z.string().min(1).default('./data'),
  SUBSCRIBERS: z
    .string()
    .default(DEFAULT_SUBSCRIBERS)
    .transform((value, ctx) => {
      try {
        return parseSubscribers(value);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
        return z.NEVER;
      }
    }),
  /** 4xx answers (other than 408/429) for one event before it is parked, or blocks the subscriber. */
  POISON_ATTEMPTS: positiveInt(5),
  /** The first retry waits between this and twice this; each further one doubles the range. */
  RETRY_BASE_MS: positiveInt(100),
  RETRY_MAX_MS: positiveInt(5_000),
  DELIVERY_TIMEOUT_MS: positiveInt(10_000),
});

export type BusConfig = z.infer<typeof busEnvSchema>;

/** The env variable holding a subscriber's signing secret: `query` → `DELIVERY_SECRET_QUERY`. */
export const secretVariable = (name: string) => `DELIVERY_SECRET_${name.toUpperCase().replace(/-/g, '_')}`;

const MIN_SECRET_LENGTH = 16;

export function loadBusConfig(env: NodeJS.ProcessEnv = process.env): BusConfig {
  const config = loadConfig(busEnvSchema, env);
  const subscribers = config.SUBSCRIBERS.map((subscriber) => {
    const variable = secretVariable(subscriber.name);
    const secret = env[variable];
    if (secret === undefined || secret === '') return subscriber;
    if (secret.length < MIN_SECRET_LENGTH) throw new ConfigError(`invalid configuration: ${variable}: must be at least ${MIN_SECRET_LENGTH} characters`);
    return { ...subscriber, secret };
  });
  return { ...config, SUBSCRIBERS: subscribers };
}
