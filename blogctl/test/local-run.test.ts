import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { SupervisorView } from '@mini-blog/common/events';
import { LOCAL_RUN_FILE, writeLocalRun } from '@mini-blog/common/local-run';
import { SERVICE_NAMES } from '@mini-blog/common/registry';
import { ADMIN_TOKEN, closedPort, startFakeSystem, type FakeSystem, type Seen } from './support/fake-bus';
import { runBlogctl } from './support/run';

/**
 * A local run on ports of its own (`PORT=18080`, `PORT=0`): blogctl is given only the bus's URL and
 * the data folder, and finds the launcher, the views and the services where the launcher's file
 * says. A file whose gateway does not answer (a launcher killed with kill -9) is not believed. The
 * last guess is the usual ports of --url's host (8080, 4006): these tests expect no launcher of
 * one's own there while they run.
 */

let system: FakeSystem;
let launcher: FakeLauncher;
let dataDir: string;

interface FakeLauncher {
  readonly url: string;
  /** The requests to /launcher/faults, in order. */
  readonly seen: Seen[];
  close(): Promise<void>;
}

const VIEW: SupervisorView = {
  transport: 'http',
  switches: true,
  services: SERVICE_NAMES.map((name) => ({
    name,
    state: name === 'posts' ? 'stopped' : 'running',
    ready: name !== 'posts',
    restarts: 0,
    lastExit: null,
    since: '2026-12-01T08:00:00.000Z',
  })),
};

/** The launcher's gateway as blogctl uses it: its public view, and the switches for the admin. */
async function startFakeLauncher(): Promise<FakeLauncher> {
  const seen: Seen[] = [];
  const server: Server = createServer((req, res) => {
    const answer = (status: number, body: unknown) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (req.url === '/launcher/services') return answer(200, VIEW);
    seen.push({ method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization, body: null });
    if (req.headers.authorization !== `Bearer ${ADMIN_TOKEN}`) return answer(401, { message: 'unknown token' });
    if (req.url === '/launcher/faults/services/posts/stop') return answer(200, VIEW);
    if (req.url === '/launcher/faults/deliveries/query')
      return answer(200, {
        deliveries: { query: { paused: true, latencyMs: 0, failing: false } },
        log: { slowMs: 0 },
      });
    return answer(404, { message: 'no such route' });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

beforeEach(async () => {
  system = await startFakeSystem();
  launcher = await startFakeLauncher();
  dataDir = mkdtempSync(path.join(tmpdir(), 'blogctl-local-run-'));
  mkdirSync(path.join(dataDir, 'credentials'), { mode: 0o700 });
  writeFileSync(path.join(dataDir, 'credentials', 'admin'), `${ADMIN_TOKEN}\n`, { mode: 0o600 });
});

afterEach(async () => {
  await Promise.all([system.close(), launcher.close()]);
  rmSync(dataDir, { recursive: true, force: true });
});

/** The launcher's file, as `npm start` writes it, for the fake run; `gateway` another one's if given. */
function writeFile(gateway = launcher.url): void {
  writeLocalRun(dataDir, {
    gateway,
    bus: system.busUrl,
    views: system.viewsUrl,
    services: system.serviceUrls,
    pid: process.pid,
  });
}

const blogctl = (args: string[]) => runBlogctl([...args, '--url', system.busUrl, '--data-dir', dataDir]);

describe("blogctl on a local run, with the launcher's file of the data folder", () => {
  it('reads the views and each service where the file says', async () => {
    writeFile();
    system.readyStatus.query = 503;

    const result = await blogctl(['status']);

    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^query +3 +2 +1 +1 +retrying: HTTP 500$/m);
    expect(result.stdout).toMatch(/^query +HTTP 503$/m);
    for (const name of SERVICE_NAMES.filter((service) => service !== 'query'))
      expect(result.stdout).toMatch(new RegExp(`^${name} +ready$`, 'm'));
  });

  it('takes DATA_DIR for the data folder, as npm start does', async () => {
    writeFile();

    const result = await runBlogctl(['status', '--url', system.busUrl, '--json'], { DATA_DIR: dataDir });

    expect(result.stderr).toBe('');
    expect((JSON.parse(result.stdout) as { subscriptions: unknown[] }).subscriptions).toHaveLength(2);
  });

  it('sends the fault switches and the process switches to the gateway the file names', async () => {
    writeFile();

    const paused = await blogctl(['fault', 'pause', 'query']);
    const stopped = await blogctl(['stop', 'posts']);

    expect(paused.stderr).toBe('');
    expect(paused.stdout).toContain('query       paused (its lag grows)');
    expect(stopped.stdout).toBe('posts: stopped (stays down until `blogctl start`)\n');
    expect(launcher.seen.map(({ method, url, authorization }) => ({ method, url, authorization }))).toEqual([
      { method: 'PATCH', url: '/launcher/faults/deliveries/query', authorization: `Bearer ${ADMIN_TOKEN}` },
      { method: 'POST', url: '/launcher/faults/services/posts/stop', authorization: `Bearer ${ADMIN_TOKEN}` },
    ]);
  });

  it('does not believe a file whose gateway does not answer (a launcher killed), and says what to pass', async () => {
    const gone = `http://127.0.0.1:${await closedPort()}`;
    writeFile(gone);
    const file = path.join(dataDir, LOCAL_RUN_FILE);
    const stale = `${file} names the gateway ${gone}, which does not answer`;

    const fault = await blogctl(['fault', 'pause', 'query']);
    const status = await blogctl(['status']);

    expect(fault.status).toBe(1);
    expect(fault.stderr).toContain(`blogctl: no launcher at ${system.busUrl} or http://127.0.0.1:8080; ${stale}`);
    expect(fault.stderr).toContain("pass --url with the gateway's URL");
    // The views the file names still answer (their process outlived the launcher): not read either.
    expect(status.status).toBe(1);
    expect(status.stdout).toBe('');
    expect(status.stderr).toContain(`blogctl: no bus's views at ${system.busUrl} or http://127.0.0.1:4006; ${stale}`);
    expect(status.stderr).toContain('pass --views-url');
  });

  it("does not take another run's file: one that names nothing at --url", async () => {
    writeFile();
    const other = await startFakeSystem();
    try {
      const result = await runBlogctl(['fault', 'pause', 'query', '--url', other.busUrl, '--data-dir', dataDir]);

      expect(result.status).toBe(1);
      expect(result.stderr).toContain(`is another run's (its bus is ${system.busUrl})`);
      expect(launcher.seen).toEqual([]);
    } finally {
      await other.close();
    }
  });

  it('says there is no file when the data folder has none', async () => {
    const result = await blogctl(['fault', 'pause', 'query']);

    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`no launcher's file at ${path.join(dataDir, LOCAL_RUN_FILE)}`);
  });
});
