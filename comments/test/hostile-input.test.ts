import { MAX_COMMENT_LENGTH } from '@mini-blog/common/events';
import { silentLogger } from '@mini-blog/common/service';
import {
  expectRefused,
  guardPrototypes,
  hostileInputTests,
  hostilePathSegment,
  sendRaw,
  startOnMemoryBus,
} from '@mini-blog/common/testing';
import fc from 'fast-check';
import { createApp } from '../src/app';

/**
 * Hostile input on every route of comments: refused with a 4xx and a message, never a 5xx, nothing
 * stored in the log beyond the post the test starts with, the state and the prototypes untouched.
 */

const RUNS = 120;
/** Longer than any generated path segment, so that no hostile id can name it. */
const POST_ID = 'known-post-0001';
const CONTENT = { kind: 'text', min: 1, max: MAX_COMMENT_LENGTH, userText: true } as const;

const setup = () =>
  startOnMemoryBus(
    (bus) => createApp({ bus, logger: silentLogger() }),
    [{ type: 'PostCreated', id: `PostCreated:${POST_ID}`, data: { id: POST_ID, title: 'A post' } }],
  );

const validComment = { headers: { 'content-type': 'application/json' }, body: Buffer.from('{"content":"A comment"}') };
guardPrototypes();

describe('hostile input to comments', () => {
  hostileInputTests({
    setup,
    runs: RUNS,
    bodies: [
      {
        title: 'POST /posts/:id/comments: a hostile body is refused with a 4xx and a message, nothing stored',
        path: `/posts/${POST_ID}/comments`,
        specs: [{ shape: { content: CONTENT }, valid: { content: 'A comment' } }],
        unchanged: ({ bus, projection }) => {
          expect(bus.log).toHaveLength(1);
          expect(projection.model.commentsOf(POST_ID)).toEqual([]);
        },
      },
    ],
    deliveries: {
      unchanged: ({ bus, projection, consumer }) => {
        expect(bus.log).toHaveLength(1);
        expect(projection.model.commentsOf(POST_ID)).toEqual([]);
        expect(consumer.currentPosition).toBe(1);
      },
    },
    reads: [
      {
        title: 'GET /posts/:id/comments: never a 5xx, whatever the id and the query string',
        paths: hostilePathSegment.map((id) => `/posts/${id}/comments`),
        queryKeys: ['limit', 'cursor'],
        expectAnswer: (res) => {
          expect([200, 400, 404]).toContain(res.status);
          if (res.status === 200) expect(res.body).toEqual([]);
          else expect(res.body).toEqual(expect.objectContaining({ message: expect.any(String) }));
        },
      },
    ],
  });

  it('POST /posts/:id/comments: a hostile post id is refused with a 4xx and a message, nothing stored', async () => {
    const { app, bus } = await setup();

    await fc.assert(
      fc.asyncProperty(hostilePathSegment, async (id) => {
        expectRefused(await sendRaw(app, 'POST', `/posts/${id}/comments`, validComment));
        expect(bus.log).toHaveLength(1);
      }),
      { numRuns: RUNS },
    );
  });

  it('POST /posts/:id/comments: a valid comment among unknown and prototype-pollution keys is stored alone', async () => {
    const { app, bus } = await setup();
    const content = 'مرحبا \u200d ok';
    const body = `{"content":${JSON.stringify(content)},"__proto__":{"status":"approved"},"status":"approved","postId":"other","id":"chosen"}`;

    const res = await sendRaw(app, 'POST', `/posts/${POST_ID}/comments`, {
      headers: { 'content-type': 'application/json' },
      body: Buffer.from(body),
    });

    expect(res.status).toBe(201);
    expect(bus.ofType('CommentCreated').map((event) => event.data)).toEqual([
      { id: expect.any(String), postId: POST_ID, content, status: 'pending' },
    ]);
    expect(bus.ofType('CommentCreated')[0]!.data.id).not.toBe('chosen');
  });
});
