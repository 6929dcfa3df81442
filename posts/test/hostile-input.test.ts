import { MAX_TITLE_LENGTH } from '@mini-blog/common/events';
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
 * Hostile input on every route of posts: refused with a 4xx and a message, never a 5xx, nothing
 * stored in the log, the state and the prototypes untouched, and the service still answering.
 */

const RUNS = 120;
const TITLE = { kind: 'text', min: 1, max: MAX_TITLE_LENGTH, userText: true } as const;

const setup = () => startOnMemoryBus((bus) => createApp({ bus, logger: silentLogger() }));

guardPrototypes();

describe('hostile input to posts', () => {
  it('POST /posts/create: refused with a 4xx and a message, nothing stored', async () => {
    const { app, bus, projection } = await setup();

    await fc.assert(
      fc.asyncProperty(
        hostileRequest({
          specs: [{ shape: { title: TITLE }, valid: { title: 'A post' } }],
          bodyLimitBytes: DEFAULT_BODY_LIMIT,
        }),
        async (hostile) => {
          expectRefused(await sendRaw(app, 'POST', '/posts/create', hostile));
          expect(bus.log).toEqual([]);
          expect(projection.model.page(0, 1)).toEqual([]);
        },
      ),
      { numRuns: RUNS },
    );
    expect((await sendRaw(app, 'GET', '/healthz')).status).toBe(200);
  });

  it('POST /posts/create: a valid title among unknown and prototype-pollution keys is stored alone', async () => {
    const { app, bus } = await setup();
    const title = '\u200fשלום\u200d ok';
    const body = `{"title":${JSON.stringify(title)},"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},"id":"chosen"}`;

    const res = await sendRaw(app, 'POST', '/posts/create', {
      headers: { 'content-type': 'application/json' },
      body: Buffer.from(body),
    });

    expect(res.status).toBe(201);
    expect(res.body).toEqual({ id: expect.any(String), title });
    expect(res.body).not.toEqual(expect.objectContaining({ id: 'chosen' }));
    expect(bus.log.map((event) => event.data)).toEqual([res.body]);
  });

  it('POST /events: an invalid delivery is refused with a 4xx and a message, nothing applied', async () => {
    const { app, bus, projection, consumer } = await setup();

    await fc.assert(
      fc.asyncProperty(
        hostileRequest({ specs: ENVELOPE_SPECS, bodyLimitBytes: DEFAULT_BODY_LIMIT, acceptsArrays: true }),
        async (hostile) => {
          expectRefused(await sendRaw(app, 'POST', '/events', hostile));
          expect(bus.log).toEqual([]);
          expect(projection.model.page(0, 1)).toEqual([]);
          expect(consumer.currentPosition).toBe(0);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('GET /posts, the health routes and unknown routes or methods: never a 5xx, whatever the query string', async () => {
    const { app } = await setup();

    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('/posts', '/healthz', '/readyz', '/posts/create', '/events', '/nope', '/__proto__'),
        fc.constantFrom('GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'),
        hostileQuery(['limit', 'cursor', 'title']),
        async (path, method, query) => {
          const res = await sendRaw(app, method, `${path}${query}`);
          expect(res.status).toBeLessThan(500);
          if (res.status >= 400) expect(res.body).toEqual(expect.objectContaining({ message: expect.any(String) }));
        },
      ),
      { numRuns: RUNS },
    );
  });
});
