import { SERVICE_NAMES } from '@mini-blog/common/registry';
import { parseSubscribers, type SubscriberConfig } from '@mini-blog/common/transport/http';
import { PRINCIPALS } from './credentials';

/**
 * `EXTRA_SUBSCRIBERS`: services of your own (a course-style service in plain Express) that the bus
 * delivers to beside the registry's, in the bus's `SUBSCRIBERS` format. Without `batch` a subscriber
 * gets one event per `POST /events`, the envelope `{type, data, id, seq, time}` (the course's body
 * plus fields it ignores), as a course service expects; an event it keeps answering with a 4xx is
 * parked, not dropped. Each one is a principal: its credential file is created with the others'.
 */
export function parseExtraSubscribers(value: string): SubscriberConfig[] {
  const subscribers = parseSubscribers(value);
  const taken = new Set<string>([...SERVICE_NAMES, ...PRINCIPALS]);
  for (const { name } of subscribers) {
    if (taken.has(name))
      throw new Error(`"${name}": is a name of the system's own (${[...taken].join(', ')}); give the service another`);
  }
  return subscribers;
}

/** How a subscriber is delivered to, in the words of the launcher's output. */
export function describeDelivery({ types, batch, mode }: SubscriberConfig): string {
  return [
    batch ? 'batches of envelopes' : 'one event per POST',
    types ? types.join(', ') : 'every type',
    mode === 'block' ? 'stops at an event it rejects' : 'an event it rejects is parked',
  ].join('; ');
}
