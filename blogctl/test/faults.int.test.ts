import { spawn } from 'node:child_process';
import path from 'node:path';
import type { PublicComment, SubscriptionStatus, SupervisorView } from '@mini-blog/common/events';
import { waitFor } from '@mini-blog/common/testing';
import { startTemporarySystem, type TemporarySystem } from '@mini-blog/launcher';

/**
 * The built blogctl's fault switches against `npm start -- --faults`: a stop and a start through
 * the launcher's supervisor, and a subscriber made to fail, whose parked event is replayed when
 * the switch is undone, so that the comment it held back is moderated after all.
 */

jest.setTimeout(120_000);

const BIN = path.resolve(__dirname, '..', 'bin', 'blogctl');
let run: TemporarySystem;

beforeAll(async () => {
  run = await startTemporarySystem('blogctl-faults-', { faultSwitches: true });
});

afterAll(async () => {
  await run?.stop();
});

/** Runs the CLI as a child process (the gateway it talks to lives in this test's process). */
function blogctl(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const where = ['--url', run.system.url.replace('localhost', '127.0.0.1'), '--data-dir', run.dataDir];
    const child = spawn(BIN, [...args, ...where], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    child.on('exit', (status) => resolve({ status, stdout, stderr }));
  });
}

const view = async () => (await (await fetch(`${run.system.url}/launcher/services`)).json()) as SupervisorView;
const serviceOf = async (name: string) => (await view()).services.find((service) => service.name === name)!;
const subscription = async (name: string) =>
  ((await (await fetch(`${run.system.viewsUrl}/subscriptions`)).json()) as SubscriptionStatus[]).find(
    (status) => status.name === name,
  )!;

async function post(path: string, body: unknown): Promise<unknown> {
  const res = await fetch(`${run.system.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(201);
  return res.json();
}

describe('blogctl fault switches against npm start -- --faults', () => {
  it('stops a service, which stays down, and starts it again', async () => {
    const stopped = await blogctl(['stop', 'posts']);

    expect(stopped).toMatchObject({ status: 0, stderr: '' });
    expect(stopped.stdout).toBe('posts: stopped (stays down until `blogctl start`)\n');
    expect(await serviceOf('posts')).toMatchObject({ state: 'stopped', ready: false, restarts: 0 });

    const started = await blogctl(['start', 'posts']);

    expect(started.stdout).toBe('posts: running\n');
    await waitFor(async () => (await serviceOf('posts')).ready, 'posts to be ready again');
  });

  it('fails moderation: the comment parks and stays pending; undone, it is replayed and moderated', async () => {
    const { id: postId } = (await post('/posts/create', { title: 'A post for the fault switch' })) as { id: string };

    const failing = await blogctl(['fault', 'fail', 'moderation']);
    const comments = (await post(`/posts/${postId}/comments`, { content: 'held back' })) as PublicComment[];
    const commentId = comments.at(-1)!.id;

    expect(failing.stdout).toContain('moderation  failing');
    await waitFor(async () => (await subscription('moderation')).parked === 1, 'the comment to park at moderation');
    expect((await subscription('moderation')).lastError).toBe('refused (fault switch)');
    const statusOfComment = async () =>
      ((await (await fetch(`${run.system.url}/posts/${postId}/comments`)).json()) as PublicComment[]).find(
        (comment) => comment.id === commentId,
      )?.status;
    expect(await statusOfComment()).toBe('pending');

    const cleared = await blogctl(['fault', 'clear']);

    expect(cleared.stdout).toBe('no fault switch is on\n');
    await waitFor(async () => (await statusOfComment()) === 'approved', 'the comment to be moderated after all');
    await waitFor(async () => (await subscription('moderation')).parked === 0, 'the parked record to go');
  });
});
