import type { EventMeta, SubscriptionStatus } from '@mini-blog/common/events';
import type { Delivery, FlowPage } from '../api/flow-api';

/** The view shows the tail of the log: the newest events are the ones whose delivery is news. */
export const FLOW_WINDOW = 100;

export interface FlowState {
  /** The newest events, newest first, at most `FLOW_WINDOW`. */
  readonly events: readonly EventMeta[];
  /** The newest seq known to be in the log. */
  readonly head: number;
  readonly subscriptions: readonly SubscriptionStatus[];
  readonly logLoaded: boolean;
  readonly subscriptionsLoaded: boolean;
}

export type FlowAction =
  | { readonly type: 'tailLoaded'; readonly page: FlowPage }
  | { readonly type: 'appended'; readonly event: EventMeta }
  | { readonly type: 'delivered'; readonly delivery: Delivery }
  | { readonly type: 'subscriptionsLoaded'; readonly subscriptions: readonly SubscriptionStatus[] };

export const initialFlow: FlowState = {
  events: [],
  head: 0,
  subscriptions: [],
  logLoaded: false,
  subscriptionsLoaded: false,
};

/** Events arrive from pages and from the stream, overlapping: keyed by seq, each is kept once. */
function withEvents(current: readonly EventMeta[], added: readonly EventMeta[]): readonly EventMeta[] {
  const bySeq = new Map(current.map((event) => [event.seq, event]));
  for (const event of added) bySeq.set(event.seq, event);
  return [...bySeq.values()].sort((a, b) => b.seq - a.seq).slice(0, FLOW_WINDOW);
}

export function flowReducer(state: FlowState, action: FlowAction): FlowState {
  switch (action.type) {
    case 'tailLoaded':
      return {
        ...state,
        events: withEvents(state.events, action.page.events),
        head: Math.max(state.head, action.page.head),
        logLoaded: true,
      };
    case 'appended':
      if (state.events.some((event) => event.seq === action.event.seq)) return state;
      return {
        ...state,
        events: withEvents(state.events, [action.event]),
        head: Math.max(state.head, action.event.seq),
      };
    case 'delivered':
      return {
        ...state,
        subscriptions: state.subscriptions.map((subscription) =>
          subscription.name === action.delivery.subscriber && action.delivery.cursor > subscription.cursor
            ? { ...subscription, cursor: action.delivery.cursor }
            : subscription,
        ),
      };
    case 'subscriptionsLoaded': {
      // A poll answer can be older than a delivery the stream already reported: cursors only move forward.
      const live = new Map(state.subscriptions.map((subscription) => [subscription.name, subscription.cursor]));
      return {
        ...state,
        head: Math.max(state.head, ...action.subscriptions.map((subscription) => subscription.head)),
        subscriptionsLoaded: true,
        subscriptions: action.subscriptions.map((subscription) => ({
          ...subscription,
          cursor: Math.max(subscription.cursor, live.get(subscription.name) ?? 0),
        })),
      };
    }
  }
}

/** How many events of the log the subscriber has not been handed yet. */
export function lagOf(subscription: SubscriptionStatus, head: number): number {
  return Math.max(0, Math.max(head, subscription.head) - subscription.cursor);
}

export type DeliveryState = 'delivered' | 'pending' | 'not-subscribed';

/** The cursor only moves past an event once the subscriber acknowledged it (or it was parked). */
export function deliveryOf(subscription: SubscriptionStatus, event: EventMeta): DeliveryState {
  if (subscription.types !== null && subscription.types.length > 0 && !subscription.types.includes(event.type)) {
    return 'not-subscribed';
  }
  return event.seq <= subscription.cursor ? 'delivered' : 'pending';
}
