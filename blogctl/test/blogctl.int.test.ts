import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SERVICE_NAMES, SUBSCRIBER_NAMES } from '@mini-blog/common/registry';
import { waitFor } from '@mini-blog/common/testing';
import { startTemporarySystem, type RunningSystem, type TemporarySystem } from '@mini-blog/launcher';

/**
 * The built blogctl (bin/blogctl, as a user runs it) against the system `npm start` runs: every
 * service a real process on free ports, the credentials the launcher creates in the data folder.
 */

jest.setTimeout(120_000);

const BIN = path.resolve(__dirname, '..', 'bin');
let run: TemporarySystem;
let system: RunningSystem;
let dataDir: string;

beforeAll(async () => {
  run = await startTemporarySystem('blogctl-int-');
  ({ system, dataDir } = run);
});

afterAll(async () => {
  await run?.stop();
});

/** Where this run's processes are (on free ports), as blogctl's options. */
const where = () => [
  '--url',
  system.services['event-bus'].url,
  '--views-url',
  system.viewsUrl,
  '--data-dir',
  dataDir,
  ...SERVICE_NAMES.flatMap((name) => ['--service', `${name}=${system.services[name].url}`]),
];

function blogctl(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(path.join(BIN, 'blogctl'), [...args, ...where()], { encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

async function createPost(title: string): Promise<string> {
  const res = await fetch(`${system.url}/posts/create`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ title }),
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

describe('blogctl against npm start', () => {
  it("prints each subscriber's lag and each service's readiness", async () => {
    await createPost('seen by blogctl status');
    await waitFor(() => blogctl(['status', '--json']).stdout.includes('"lag":0'), 'a subscriber to catch up', {
      timeoutMs: 15_000,
    });
    const result = blogctl(['status']);

    expect(result.status).toBe(0);
    for (const name of SUBSCRIBER_NAMES)
      expect(result.stdout).toMatch(new RegExp(`^${name} +\\d+ +\\d+ +\\d+ +\\d+ +\\S`, 'm'));
    for (const name of SERVICE_NAMES) expect(result.stdout).toMatch(new RegExp(`^${name} +ready$`, 'm'));
  });

  it('reads the admin routes with the credential the launcher made, and rewinds a subscriber', async () => {
    expect(blogctl(['parked'])).toMatchObject({ status: 0, stdout: 'no parked events\n' });

    const rewound = blogctl(['rewind', 'query', '0', '--json']);
    expect(rewound.status).toBe(0);
    expect(JSON.parse(rewound.stdout)).toMatchObject({ name: 'query', cursor: 0 });
    await waitFor(
      () =>
        (
          JSON.parse(blogctl(['status', '--json']).stdout) as { subscriptions: { name: string; lag: number }[] }
        ).subscriptions.find((entry) => entry.name === 'query')?.lag === 0,
      'query to catch up again',
      { timeoutMs: 15_000 },
    );
  });

  it('is refused by the bus with a wrong admin credential', () => {
    const other = mkdtempSync(path.join(tmpdir(), 'blogctl-int-wrong-'));
    try {
      mkdirSync(path.join(other, 'credentials'));
      writeFileSync(path.join(other, 'credentials', 'admin'), 'not-the-admin-credential-but-long-enough-0\n');
      const result = spawnSync(path.join(BIN, 'blogctl'), ['parked', ...where(), '--data-dir', other], {
        encoding: 'utf8',
      });

      expect(result.status).toBe(1);
      expect(result.stderr).toMatch(/the bus refused the admin credential \(401: authorization: /);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });

  it('tails the flow: a new post appears as it is appended', async () => {
    const child = spawn(path.join(BIN, 'blogctl'), ['tail', '--count', '1', ...where()], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    const exited = once(child, 'exit');
    // The stream opens a moment after the backlog is printed: post until one arrives through it.
    let exitedYet = false;
    void exited.then(() => (exitedYet = true));
    await waitFor(
      async () => exitedYet || ((await createPost('tailed')) && false),
      'blogctl tail to print a streamed event',
      { timeoutMs: 15_000, intervalMs: 250 },
    );

    expect((await exited)[0]).toBe(0);
    expect(stdout).toMatch(/ PostCreated /);
  });

  it("rebuilds query's projection on the running system while the feed keeps answering, then swaps it in", async () => {
    for (let index = 0; index < 20; index += 1) await createPost(`before the rebuild ${index}`);
    const child = spawn(path.join(BIN, 'blogctl'), ['rebuild', 'query', ...where()], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const exited = once(child, 'exit');
    let exitedYet = false;
    void exited.then(() => (exitedYet = true));
    const answers: number[] = [];
    await waitFor(
      async () => {
        answers.push((await fetch(`${system.url}/posts/feed?limit=5`)).status);
        return exitedYet;
      },
      'blogctl rebuild to finish',
      { timeoutMs: 60_000, intervalMs: 20 },
    );
    const feed = (await (await fetch(`${system.url}/posts/feed?limit=100`)).json()) as { posts: { title: string }[] };

    expect({ status: (await exited)[0], stderr }).toEqual({ status: 0, stderr: '' });
    expect(stdout).toMatch(/query: the rebuilt projection is live\n$/);
    expect(answers.length).toBeGreaterThan(0);
    expect(answers.filter((status) => status !== 200)).toEqual([]);
    expect(feed.posts.filter((post) => post.title.startsWith('before the rebuild '))).toHaveLength(20);
  });

  (spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status === 0 ? it : it.skip)(
    'runs as the kubectl plugin `kubectl blog`',
    () => {
      const env = { ...process.env, PATH: `${BIN}${path.delimiter}${process.env.PATH ?? ''}` };
      const plugins = spawnSync('kubectl', ['plugin', 'list'], { encoding: 'utf8', env });
      expect(plugins.stdout).toContain(path.join(BIN, 'kubectl-blog'));

      const result = spawnSync('kubectl', ['blog', 'status', ...where()], { encoding: 'utf8', env });
      expect(result.status).toBe(0);
      expect(result.stdout).toMatch(/^query +\d+ +0 /m);
    },
  );
});
