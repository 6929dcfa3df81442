import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { waitFor } from '@mini-blog/common/testing';
import { startSystem, type RunningSystem, type SystemOptions } from '@mini-blog/launcher';
import { call as request } from './faults/support/http';
import type { CourseMap } from './faults/support/verify';

/**
 * The whole system as `npm start` runs it (every service a real process, on free ports), driven
 * through the gateway the way the browser drives it.
 */

jest.setTimeout(120_000);

let system: RunningSystem;
let dataDir: string;
/** Every service's log lines, printed when a test fails to start the system. */
const logs: string[] = [];

/** A request through the gateway: its status and its JSON body. */
async function call(method: string, urlPath: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  const answer = await request(system.url, method, urlPath, body);
  return { status: answer.status, body: answer.json };
}

async function createPost(title: string): Promise<string> {
  const res = await call('POST', '/posts/create', { title });
  expect(res.status).toBe(201);
  return (res.body as { id: string }).id;
}

async function comment(postId: string, content: string): Promise<string> {
  const res = await call('POST', `/posts/${postId}/comments`, { content });
  expect(res.status).toBe(201);
  const comments = res.body as { id: string }[];
  return comments[comments.length - 1]!.id;
}

/** Waits until the query view shows the comment with the given status. */
function commentStatus(postId: string, commentId: string, status: string) {
  return waitFor(
    async () => {
      const view = (await call('GET', '/posts')).body as CourseMap;
      return view[postId]?.comments.find((c) => c.id === commentId && c.status === status);
    },
    `comment ${commentId} to be ${status} in GET /posts`,
    { timeoutMs: 15_000 },
  );
}

/** The same tests on each transport: the HTTP bus, and a 3-node NATS JetStream cluster on loopback. */
const TRANSPORTS: [string, SystemOptions['transport']][] = [
  ['the HTTP bus', { transport: 'http' }],
  ['a 3-node JetStream cluster', { transport: 'jetstream', natsNodes: 3 }],
];

describe.each(TRANSPORTS)('the blog through the gateway, on %s', (_name, transport) => {
  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'mini-blog-system-'));
    try {
      system = await startSystem({
        port: 0,
        dataDir,
        log: (service, line) => logs.push(`${service} | ${line}`),
        transport,
        readyTimeoutMs: 90_000,
      });
    } catch (err) {
      throw new Error(`${(err as Error).message}\n--- service logs ---\n${logs.slice(-100).join('\n')}`);
    }
  });

  afterAll(async () => {
    await system?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('moderates comments: approved shows its content, "orange" is rejected and hidden', async () => {
    const postId = await createPost('Event-driven blogging');
    const nice = await comment(postId, 'What a nice post');
    const orange = await comment(postId, 'I would rather have an Orange');

    expect(await commentStatus(postId, nice, 'approved')).toEqual({
      id: nice,
      content: 'What a nice post',
      status: 'approved',
    });
    expect(await commentStatus(postId, orange, 'rejected')).toEqual({ id: orange, content: '', status: 'rejected' });
  });

  it('answers 404 for a comment on an unknown post and 400 naming the field for an empty title', async () => {
    const unknown = await call('POST', '/posts/no-such-post/comments', { content: 'hello' });
    const empty = await call('POST', '/posts/create', { title: '' });

    expect(unknown.status).toBe(404);
    expect(empty).toEqual({
      status: 400,
      body: { message: 'title: must not be empty', fields: { title: 'must not be empty' } },
    });
  });

  it('does not expose the bus write endpoint', async () => {
    const res = await call('POST', '/events', { type: 'PostCreated', data: { id: 'x', title: 'forged' } });
    const view = (await call('GET', '/posts')).body as CourseMap;

    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(view.x).toBeUndefined();
  });

  it('rebuilds the same view when query restarts', async () => {
    const postId = await createPost('Survives restarts');
    const approved = await comment(postId, 'still here');
    await commentStatus(postId, approved, 'approved');
    const before = (await call('GET', '/posts')).body;

    await system.services.query.stop();
    system.services.query.start();
    await system.waitReady('query');

    expect((await call('GET', '/posts')).body).toEqual(before);
  });

  it('moderates a comment made while moderation was down once it is back', async () => {
    const postId = await createPost('Moderation outage');
    await system.services.moderation.stop();

    const commentId = await comment(postId, 'written during the outage');
    await commentStatus(postId, commentId, 'pending');

    system.services.moderation.start();
    await commentStatus(postId, commentId, 'approved');
  });
});
