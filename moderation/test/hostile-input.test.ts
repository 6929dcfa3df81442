import { silentLogger } from '@mini-blog/common/service';
import { guardPrototypes, hostileInputTests, startOnMemoryBus } from '@mini-blog/common/testing';
import { createApp } from '../src/app';

/**
 * Hostile input on every route of moderation: an invalid delivery is refused with a 4xx and a
 * message and gets no verdict, never a 5xx, and the prototypes stay untouched.
 */

guardPrototypes();

describe('hostile input to moderation', () => {
  hostileInputTests({
    setup: () => startOnMemoryBus((bus) => createApp({ bus, logger: silentLogger(), blockedWords: ['orange'] })),
    runs: 150,
    deliveries: {
      title: 'POST /events: an invalid delivery is refused with a 4xx and a message, and no verdict is published',
      unchanged: ({ bus, consumer }) => {
        expect(consumer.currentPosition).toBe(0);
        expect(consumer.pendingReactions).toBe(0);
        expect(bus.log).toEqual([]);
      },
    },
    reads: [
      {
        title: 'the health routes and unknown routes or methods: never a 5xx, whatever the query string',
        paths: ['/healthz', '/readyz', '/events', '/posts', '/__proto__'],
        methods: ['GET', 'PUT', 'DELETE', 'PATCH'],
        queryKeys: ['limit', 'cursor'],
        runs: 60,
      },
    ],
  });
});
