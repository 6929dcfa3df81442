import type { EventMeta } from '@mini-blog/common/events';
import { subscriptionStatus as subscription } from '@mini-blog/common/testing/browser';
import {
  deliveryOf,
  FLOW_WINDOW,
  flowReducer,
  initialFlow,
  lagOf,
  type FlowAction,
  type FlowState,
} from '../src/features/event-flow/model/flow-state';

const meta = (seq: number, type = 'PostCreated'): EventMeta => ({
  seq,
  type,
  id: `${type}:${seq}`,
  time: '2026-01-01T00:00:00.000Z',
});
const run = (actions: readonly FlowAction[], from: FlowState = initialFlow) => actions.reduce(flowReducer, from);

describe('event flow state', () => {
  it('keeps each event once, newest first, whether it came from a page or the stream', () => {
    const state = run([
      { type: 'appended', event: meta(3) },
      { type: 'tailLoaded', page: { events: [meta(1), meta(2), meta(3)], head: 3 } },
      { type: 'appended', event: meta(3) },
      { type: 'appended', event: meta(4) },
    ]);

    expect(state.events.map((event) => event.seq)).toEqual([4, 3, 2, 1]);
    expect(state.head).toBe(4);
  });

  it(`keeps only the newest ${FLOW_WINDOW} events`, () => {
    const events = Array.from({ length: FLOW_WINDOW + 5 }, (_, i) => meta(i + 1));

    const state = run([{ type: 'tailLoaded', page: { events, head: events.length } }]);

    expect(state.events).toHaveLength(FLOW_WINDOW);
    expect(state.events[0]!.seq).toBe(FLOW_WINDOW + 5);
  });

  it('moves a cursor forward on delivery, never back when an older poll answer arrives', () => {
    const polled = run([{ type: 'subscriptionsLoaded', subscriptions: [subscription('query', 2)] }]);
    const delivered = run([{ type: 'delivered', delivery: { subscriber: 'query', cursor: 5 } }], polled);
    const stalePoll = run(
      [{ type: 'subscriptionsLoaded', subscriptions: [subscription('query', 3, { attempts: 2 })] }],
      delivered,
    );

    expect(stalePoll.subscriptions[0]).toMatchObject({ cursor: 5, attempts: 2 });
  });

  it('counts lag against the newest event seen', () => {
    const state = run([
      { type: 'subscriptionsLoaded', subscriptions: [subscription('query', 2)] },
      { type: 'appended', event: meta(6) },
    ]);

    expect(lagOf(state.subscriptions[0]!, state.head)).toBe(4);
  });

  it('tells delivered, pending and not subscribed apart', () => {
    const moderation = subscription('moderation', 5, { types: ['CommentCreated'] });

    expect(deliveryOf(moderation, meta(4, 'CommentCreated'))).toBe('delivered');
    expect(deliveryOf(moderation, meta(6, 'CommentCreated'))).toBe('pending');
    expect(deliveryOf(moderation, meta(4, 'PostCreated'))).toBe('not-subscribed');
    expect(deliveryOf(subscription('all', 5, { types: [] }), meta(4, 'PostCreated'))).toBe('delivered');
  });
});
