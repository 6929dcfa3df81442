import { EVENT_TYPES, type EventType } from '../../events';
import type { SubscriptionStatus } from '../../events/public-views';

/**
 * The bus's subscriber list (`SUBSCRIBERS`, and the launcher's `EXTRA_SUBSCRIBERS` for course
 * services): who is delivered which events, where, and how. The bus reads it to deliver; the
 * launcher reads it to create each subscriber's credential and say where it is.
 */

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

/** A subscriber's name: also its principal, the name of its credential file. */
export const PRINCIPAL_NAME = /^[A-Za-z0-9_-]{1,64}$/;

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
    if (eq < 0 || !PRINCIPAL_NAME.test(name))
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

function isHttpUrl(value: string): boolean {
  try {
    return ['http:', 'https:'].includes(new URL(value).protocol);
  } catch {
    return false;
  }
}

/** One entry of the list, as `parseSubscribers` reads it back. */
export function formatSubscriber({ name, url, types, batch, mode }: SubscriberConfig): string {
  return [
    `${name}=${url}`,
    ...(types ? [`types=${types.join('+')}`] : []),
    ...(batch ? ['batch'] : []),
    ...(mode === 'park' ? [] : [`mode=${mode}`]),
  ].join('|');
}
