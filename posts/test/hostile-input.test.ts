import { MAX_TITLE_LENGTH } from '@mini-blog/common/events';
import { silentLogger } from '@mini-blog/common/service';
import { guardPrototypes, hostileInputTests, sendRaw, startOnMemoryBus } from '@mini-blog/common/testing';
import { createApp } from '../src/app';

/**
 * Hostile input on every route of posts: refused with a 4xx and a message, never a 5xx, nothing
 * stored in the log, the state and the prototypes untouched, and the service still answering.
 */

const TITLE = { kind: 'text', min: 1, max: MAX_TITLE_LENGTH, userText: true } as const;

const setup = () => startOnMemoryBus((bus) => createApp({ bus, logger: silentLogger() }));

guardPrototypes();

describe('hostile input to posts', () => {
  hostileInputTests({
    setup,
    runs: 120,
    bodies: [
      {
        title: 'POST /posts/create: refused with a 4xx and a message, nothing stored',
        path: '/posts/create',
        specs: [{ shape: { title: TITLE }, valid: { title: 'A post' } }],
        unchanged: ({ bus, projection }) => {
          expect(bus.log).toEqual([]);
          expect(projection.model.page(0, 1)).toEqual([]);
        },
        around: async ({ app }) => {
          return async () => expect((await sendRaw(app, 'GET', '/healthz')).status).toBe(200);
        },
      },
    ],
    deliveries: {
      unchanged: ({ bus, projection, consumer }) => {
        expect(bus.log).toEqual([]);
        expect(projection.model.page(0, 1)).toEqual([]);
        expect(consumer.currentPosition).toBe(0);
      },
    },
    reads: [
      {
        title: 'GET /posts, the health routes and unknown routes or methods: never a 5xx, whatever the query string',
        paths: ['/posts', '/healthz', '/readyz', '/posts/create', '/events', '/nope', '/__proto__'],
        methods: ['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'],
        queryKeys: ['limit', 'cursor', 'title'],
      },
    ],
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
});
