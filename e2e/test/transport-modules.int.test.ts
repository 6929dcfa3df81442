import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SERVICE_NAMES } from '@mini-blog/common/registry';
import { waitFor } from '@mini-blog/common/testing';
import { startTemporarySystem } from '@mini-blog/launcher';
import { call } from './faults/support/http';
import type { CourseMap } from './faults/support/verify';

/**
 * The transports are loaded only when chosen: a system on the HTTP bus runs without the NATS client
 * in any of its processes, as `npm start` runs them (built code, one process per service).
 */

jest.setTimeout(120_000);

const HOOK = path.join(__dirname, 'support', 'loaded-modules.cjs');
const withHook = (file: string) => ({ NODE_OPTIONS: `--require "${HOOK}"`, LOADED_MODULES_FILE: file });
const readModules = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as string[];
const natsModules = (modules: readonly string[]) => modules.filter((file) => file.includes('@nats-io'));

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'mini-blog-modules-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the modules a process loads', () => {
  it('include the NATS client in a process that imports the JetStream entry (the check can see it)', () => {
    const file = path.join(dir, 'jetstream-entry.json');
    const run = spawnSync(process.execPath, ['-e', "require('@mini-blog/common/transport/jetstream')"], {
      env: { ...process.env, ...withHook(file) },
      encoding: 'utf8',
    });
    expect(run.stderr).toBe('');
    expect(natsModules(readModules(file)).length).toBeGreaterThan(0);
  });

  it('include no NATS module in any process of a system on the HTTP bus, after a post and a comment went through', async () => {
    const fileOf = (name: string) => path.join(dir, `${name}.json`);
    const env = Object.fromEntries(SERVICE_NAMES.map((name) => [name, withHook(fileOf(name))]));
    const { system, stop } = await startTemporarySystem('mini-blog-modules-system-', { env });
    try {
      const post = await call(system.url, 'POST', '/posts/create', { title: 'no NATS here' });
      expect(post.status).toBe(201);
      const { id } = post.json as { id: string };
      expect((await call(system.url, 'POST', `/posts/${id}/comments`, { content: 'plain HTTP' })).status).toBe(201);
      await waitFor(
        async () => {
          const view = (await call(system.url, 'GET', '/posts')).json as CourseMap;
          return view[id]?.comments.some((comment) => comment.status === 'approved');
        },
        'the comment to be approved in GET /posts',
        { timeoutMs: 15_000 },
      );
    } finally {
      await stop();
    }
    for (const name of SERVICE_NAMES) {
      const modules = readModules(fileOf(name));
      // The list is real: every service runs on Express.
      expect(modules.some((file) => file.includes(`${path.sep}express${path.sep}`))).toBe(true);
      expect({ name, nats: natsModules(modules) }).toEqual({ name, nats: [] });
    }
  });
});
