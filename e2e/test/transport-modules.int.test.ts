import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SERVICES } from '@mini-blog/common/registry';
import { waitFor } from '@mini-blog/common/testing';
import { call } from './faults/support/http';
import type { CourseMap } from './faults/support/verify';

/**
 * The transports are loaded only when chosen: a system on the HTTP bus runs without the NATS client
 * in any of its processes, as `npm start` runs them (built code: the launcher with its gateway, and
 * one process per service).
 */

jest.setTimeout(120_000);

const ROOT = path.resolve(__dirname, '..', '..');
const HOOK = path.join(__dirname, 'support', 'loaded-modules.cjs');

interface Loaded {
  readonly script: string | null;
  readonly modules: readonly string[];
}

const withHook = (dir: string) => ({ NODE_OPTIONS: `--require "${HOOK}"`, LOADED_MODULES_DIR: dir });
const readLoaded = (dir: string): Loaded[] =>
  readdirSync(dir).map((file) => JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as Loaded);
const natsModules = ({ modules }: Loaded) => modules.filter((file) => file.includes('@nats-io'));

let work: string;
let launcher: ChildProcess | undefined;
beforeAll(() => {
  work = mkdtempSync(path.join(tmpdir(), 'mini-blog-modules-'));
});
afterAll(() => {
  // A launcher still running (a failed assertion before it stopped) goes with everything it started.
  if (launcher?.pid !== undefined && launcher.exitCode === null && launcher.signalCode === null)
    process.kill(-launcher.pid, 'SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

describe('the modules a process loads', () => {
  it('include the NATS client in a process that imports the JetStream entry (the check can see it)', () => {
    const dir = path.join(work, 'jetstream-entry');
    mkdirSync(dir);
    const run = spawnSync(process.execPath, ['-e', "require('@mini-blog/common/transport/jetstream')"], {
      env: { ...process.env, ...withHook(dir) },
      encoding: 'utf8',
    });
    expect(run.stderr).toBe('');
    const [loaded] = readLoaded(dir);
    expect(natsModules(loaded!).length).toBeGreaterThan(0);
  });

  it('include no NATS module in any process of `npm start` on the HTTP bus, after a post and a comment went through', async () => {
    const dir = path.join(work, 'system');
    mkdirSync(dir);
    const main = path.join(ROOT, 'launcher', 'dist', 'main.js');
    const output: string[] = [];
    launcher = spawn(process.execPath, [main], {
      cwd: ROOT,
      env: {
        ...process.env,
        ...withHook(dir),
        PORT: '0',
        HOST: '127.0.0.1',
        DATA_DIR: path.join(work, 'data'),
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group, so that whatever it started can be stopped with it.
      detached: true,
    });
    for (const stream of [launcher.stdout!, launcher.stderr!])
      stream.on('data', (chunk: Buffer) => output.push(...chunk.toString().split('\n')));
    const running = launcher;
    const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
    const url = await waitFor(
      () => {
        if (running.exitCode !== null) throw new Error(`the launcher exited:\n${output.slice(-40).join('\n')}`);
        return /mini-blog is running: open (\S+)/.exec(output.join('\n'))?.[1];
      },
      'the system to start',
      { timeoutMs: 90_000, intervalMs: 200 },
    );

    const post = await call(url, 'POST', '/posts/create', { title: 'no NATS here' });
    expect(post.status).toBe(201);
    const { id } = post.json as { id: string };
    expect((await call(url, 'POST', `/posts/${id}/comments`, { content: 'plain HTTP' })).status).toBe(201);
    await waitFor(
      async () => {
        const view = (await call(url, 'GET', '/posts')).json as CourseMap;
        return view[id]?.comments.some((comment) => comment.status === 'approved');
      },
      'the comment to be approved in GET /posts',
      { timeoutMs: 15_000 },
    );
    // As on Ctrl-C: the launcher stops its services, and each process writes its list as it exits.
    process.kill(running.pid!, 'SIGTERM');
    await exited;

    const loaded = readLoaded(dir);
    const scripts = loaded.map(({ script }) => script);
    expect(scripts.sort()).toEqual(
      [main, ...Object.values(SERVICES).map(({ script }) => path.join(ROOT, script))].sort(),
    );
    for (const one of loaded) {
      // The list is real: every process runs on Express (the launcher's gateway too).
      expect(one.modules.some((file) => file.includes(`${path.sep}express${path.sep}`))).toBe(true);
      expect({ script: one.script, nats: natsModules(one) }).toEqual({ script: one.script, nats: [] });
    }
  });
});
