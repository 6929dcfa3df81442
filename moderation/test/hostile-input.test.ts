import { DEFAULT_BODY_LIMIT, silentLogger } from '@mini-blog/common/service';
import {
  ENVELOPE_SPECS,
  expectRefused,
  hostileQuery,
  hostileRequest,
  guardPrototypes,
  sendRaw,
  startOnMemoryBus,
} from '@mini-blog/common/testing';
import fc from 'fast-check';
import { createApp } from '../src/app';

/**
 * Hostile input on every route of moderation: an invalid delivery is refused with a 4xx and a
 * message and gets no verdict, never a 5xx, and the prototypes stay untouched.
 */

const RUNS = 150;

const setup = () => startOnMemoryBus((bus) => createApp({ bus, logger: silentLogger(), blockedWords: ['orange'] }));

guardPrototypes();

describe('hostile input to moderation', () => {
  it('POST /events: an invalid delivery is refused with a 4xx and a message, and no verdict is published', async () => {
    const { app, bus, consumer } = await setup();

    await fc.assert(
      fc.asyncProperty(
        hostileRequest({ specs: ENVELOPE_SPECS, bodyLimitBytes: DEFAULT_BODY_LIMIT, acceptsArrays: true }),
        async (hostile) => {
          const res = await sendRaw(app, 'POST', '/events', hostile);
          expectRefused(res);
          expect(consumer.currentPosition).toBe(0);
          expect(consumer.pendingReactions).toBe(0);
          expect(bus.log).toEqual([]);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('the health routes and unknown routes or methods: never a 5xx, whatever the query string', async () => {
    const { app } = await setup();

    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('/healthz', '/readyz', '/events', '/posts', '/__proto__'),
        fc.constantFrom('GET', 'PUT', 'DELETE', 'PATCH'),
        hostileQuery(['limit', 'cursor']),
        async (path, method, query) => {
          const res = await sendRaw(app, method, `${path}${query}`);
          expect(res.status).toBeLessThan(500);
          if (res.status >= 400) expect(res.body).toEqual(expect.objectContaining({ message: expect.any(String) }));
        },
      ),
      { numRuns: 60 },
    );
  });
});
