import type { EventMeta, PublicEvent, SubscriptionStatus } from '@mini-blog/common/events';
import { openStream, query, requestJson, type StreamStatus } from '../../../lib/api';

export interface FlowPage {
  readonly events: readonly EventMeta[];
  /** The newest seq in the log. */
  readonly head: number;
}

export interface Delivery {
  readonly subscriber: string;
  readonly cursor: number;
}

export function fetchFlow(after: number, limit: number, signal?: AbortSignal): Promise<FlowPage> {
  return requestJson<FlowPage>('GET', `/flow${query({ after, limit })}`, { signal });
}

/**
 * The newest `limit` events after `after`: when more than that were appended, the middle is
 * skipped, since the view shows only the tail of the log.
 */
export async function fetchFlowTail(after: number, limit: number, signal?: AbortSignal): Promise<FlowPage> {
  const page = await fetchFlow(after, limit, signal);
  const last = page.events.at(-1)?.seq ?? after;
  if (page.head <= last) return page;
  return fetchFlow(Math.max(after, page.head - limit), limit, signal);
}

export function fetchSubscriptions(signal?: AbortSignal): Promise<SubscriptionStatus[]> {
  return requestJson<SubscriptionStatus[]>('GET', '/subscriptions', { signal });
}

export interface FlowStreamHandlers {
  readonly onAppended: (event: EventMeta) => void;
  readonly onDelivered: (delivery: Delivery) => void;
  readonly onOpen: () => void;
  readonly onStatus: (status: StreamStatus) => void;
}

export function openFlowStream({ onAppended, onDelivered, onOpen, onStatus }: FlowStreamHandlers): () => void {
  return openStream('/flow/stream', {
    onOpen,
    onStatus,
    events: {
      appended: (data) => onAppended(data as EventMeta),
      delivered: (data) => onDelivered(data as Delivery),
    },
  });
}

/** One event of the log with its payload, as the public may see it (no content of a pending or rejected comment). */
export function fetchEvent(seq: number, signal?: AbortSignal): Promise<PublicEvent> {
  return requestJson<PublicEvent>('GET', `/flow/events/${seq}`, { signal });
}
