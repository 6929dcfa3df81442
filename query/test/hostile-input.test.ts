import { silentLogger } from '@mini-blog/common/service';
import { guardPrototypes, hostileInputTests, hostileQuery, sendRaw, startOnMemoryBus } from '@mini-blog/common/testing';
import fc from 'fast-check';
import { createApp } from '../src/app';

/**
 * Hostile input on every route of query: an invalid delivery is refused with a 4xx and a message
 * and changes nothing; the reads never answer 5xx, whatever the query string or Last-Event-ID, and
 * never show the content of a pending or rejected comment.
 */

const PENDING = 'pending secret 7f3a';
const REJECTED = 'rejected secret 9c1d';

const setup = () =>
  startOnMemoryBus(
    (bus) => createApp({ bus, logger: silentLogger() }),
    [
      { type: 'PostCreated', data: { id: 'p1', title: 'One' } },
      { type: 'PostCreated', data: { id: 'p2', title: 'Two' } },
      { type: 'CommentCreated', data: { id: 'c1', postId: 'p1', content: PENDING, status: 'pending' } },
      { type: 'CommentCreated', data: { id: 'c2', postId: 'p1', content: REJECTED, status: 'pending' } },
      { type: 'CommentUpdated', data: { id: 'c2', postId: 'p1', content: REJECTED, status: 'rejected' } },
      { type: 'CommentCreated', data: { id: 'c3', postId: 'p2', content: 'approved and shown', status: 'pending' } },
      { type: 'CommentUpdated', data: { id: 'c3', postId: 'p2', content: 'approved and shown', status: 'approved' } },
    ],
  );

/** Values a client could put in Last-Event-ID (printable, as HTTP allows in a header). */
const lastEventId = fc.oneof(
  fc.constantFrom(
    '-1',
    '0',
    '1',
    '3',
    '7',
    '1e3',
    '1.5',
    '0x10',
    'NaN',
    'Infinity',
    ' 5 ',
    '9007199254740993',
    '__proto__',
    '',
  ),
  fc.string({ unit: 'binary-ascii', maxLength: 30 }).map((text) => text.replace(/[^\x20-\x7e]/g, '')),
  fc.integer({ min: 20, max: 400 }).map((length) => '9'.repeat(length)),
);

guardPrototypes();

describe('hostile input to query', () => {
  hostileInputTests({
    setup,
    runs: 120,
    deliveries: {
      unchanged: ({ bus, consumer, projection }) => {
        expect(consumer.currentPosition).toBe(bus.head);
        expect(projection.model.postCount()).toBe(2);
      },
      around: async ({ app }) => {
        const before = JSON.stringify((await sendRaw(app, 'GET', '/posts')).body);
        return async () => expect(JSON.stringify((await sendRaw(app, 'GET', '/posts')).body)).toBe(before);
      },
    },
    reads: [
      {
        title:
          'GET /posts and /posts/feed: 200 or a 4xx with a message, whatever the query string, and no hidden content',
        paths: ['/posts', '/posts/feed', '/posts/feed/', '/POSTS/FEED'],
        queryKeys: ['limit', 'cursor'],
        expectAnswer: (res) => {
          expect([200, 400]).toContain(res.status);
          if (res.status === 400)
            expect(res.body).toEqual(
              expect.objectContaining({ message: expect.stringMatching(/^(limit|cursor|query)\b/) }),
            );
          expect(res.text).not.toContain(PENDING);
          expect(res.text).not.toContain(REJECTED);
        },
      },
      {
        title: 'unknown routes and methods: a 404 with a message, never a 5xx',
        paths: ['/posts', '/posts/feed', '/events', '/nope', '/__proto__', '/posts/p1'],
        methods: ['PUT', 'DELETE', 'PATCH'],
        runs: 30,
        expectAnswer: (res) => {
          expect(res.status).toBe(404);
          expect(res.body).toEqual(expect.objectContaining({ message: expect.any(String) }));
        },
      },
    ],
  });

  it('GET /posts/stream: opens the stream whatever Last-Event-ID says, and shows no hidden content', async () => {
    const { app } = await setup();

    await fc.assert(
      fc.asyncProperty(lastEventId, hostileQuery(['after']), async (id, query) => {
        const res = await sendRaw(
          app,
          'GET',
          `/posts/stream${query}`,
          { headers: { 'last-event-id': id }, body: Buffer.alloc(0) },
          { firstChunk: true },
        );
        expect(res.status).toBe(200);
        expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
        expect(res.text).not.toContain(PENDING);
        expect(res.text).not.toContain(REJECTED);
      }),
      { numRuns: 60 },
    );
  });
});
