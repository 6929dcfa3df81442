import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SERVICE_NAMES, SUBSCRIBER_NAMES } from '@mini-blog/common/registry';
import { runCli } from '../src/cli';
import { MAX_EVENT_BYTES } from '../src/flow-stream';
import { MAX_BODY_BYTES } from '../src/http';
import { ADMIN_TOKEN, closedPort, PARKED, startFakeSystem, type FakeSystem } from './support/fake-bus';
import { runBlogctl } from './support/run';

let system: FakeSystem;
let dataDir: string;

beforeEach(async () => {
  system = await startFakeSystem();
  dataDir = mkdtempSync(path.join(tmpdir(), 'blogctl-'));
  mkdirSync(path.join(dataDir, 'credentials'), { mode: 0o700 });
  writeFileSync(
    path.join(dataDir, 'credentials', 'admin'),
    `${ADMIN_TOKEN}\nan-older-admin-secret-still-accepted-000000\n`,
    { mode: 0o600 },
  );
});

afterEach(async () => {
  await system.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/** Runs blogctl in-process against the fake system, as a local run; its exit status and output. */
async function blogctl(args: string[], { local = true, signal }: { local?: boolean; signal?: AbortSignal } = {}) {
  const where = local
    ? [
        '--url',
        system.busUrl,
        '--views-url',
        system.viewsUrl,
        '--data-dir',
        dataDir,
        ...SERVICE_NAMES.flatMap((name) => ['--service', `${name}=${system.serviceUrls[name]}`]),
      ]
    : [];
  // Options given later win: a test overrides the defaults by passing its own.
  return runBlogctl([...where, ...args], {}, signal);
}

describe('blogctl status', () => {
  it("prints each subscriber's cursor, lag and parked count and each service's readiness", async () => {
    system.readyStatus.query = 503;
    const result = await blogctl(['status']);

    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^posts +5 +0 +0 +0 +caught up$/m);
    expect(result.stdout).toMatch(/^query +3 +2 +1 +1 +retrying: HTTP 500$/m);
    for (const name of SERVICE_NAMES.filter((service) => service !== 'query'))
      expect(result.stdout).toMatch(new RegExp(`^${name} +ready$`, 'm'));
    expect(result.stdout).toMatch(/^query +HTTP 503$/m);
  });

  it('finds the views without --views-url: at the URL itself where it serves them (JetStream, the gateway)', async () => {
    const result = await blogctl(['status', '--url', system.viewsUrl, '--data-dir', dataDir, '--json'], {
      local: false,
    });

    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect((JSON.parse(result.stdout) as { subscriptions: unknown[] }).subscriptions).toHaveLength(2);
  });

  it('needs no admin credential: the views are read-only', async () => {
    rmSync(path.join(dataDir, 'credentials'), { recursive: true });

    expect((await blogctl(['status'])).status).toBe(0);
    expect(system.seen).toEqual([]);
  });

  it('says which service does not answer at all', async () => {
    const result = await blogctl(['status', '--service', `client=http://127.0.0.1:${await closedPort()}`]);

    expect(result.stdout).toMatch(/^client +connection refused$/m);
  });

  it('prints JSON with --json', async () => {
    const result = await blogctl(['status', '--json']);
    const parsed = JSON.parse(result.stdout) as {
      subscriptions: { name: string; lag: number }[];
      services: { name: string; ready: boolean }[];
    };

    expect(parsed.subscriptions.map(({ name, lag }) => ({ name, lag }))).toEqual([
      { name: 'posts', lag: 0 },
      { name: 'query', lag: 2 },
    ]);
    expect(parsed.services.map((service) => service.name)).toEqual(SERVICE_NAMES);
  });

  it('fails with the reason when the bus cannot be reached', async () => {
    const port = await closedPort();
    const result = await blogctl(['status', '--views-url', `http://127.0.0.1:${port}`]);

    expect(result.status).toBe(1);
    expect(result.stderr).toBe(`blogctl: cannot reach http://127.0.0.1:${port}: connection refused\n`);
  });
});

describe('blogctl parked, replay, skip, rewind (the admin routes)', () => {
  it("lists the parked events, with the first line of the data folder's admin credential as a Bearer token", async () => {
    const result = await blogctl(['parked']);

    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^query +4 +CommentCreated +ev-4 +5 +2026-12-01T08:00:00.000Z +HTTP 422$/m);
    expect(system.seen).toEqual([
      { method: 'GET', url: '/admin/parked', authorization: `Bearer ${ADMIN_TOKEN}`, body: undefined },
    ]);
  });

  it('lists them from the views where they serve them (JetStream, from its notices), with no credential', async () => {
    system.parkedInViews = true;
    rmSync(path.join(dataDir, 'credentials', 'admin'));

    const result = await blogctl(['parked', '--subscriber', 'query']);

    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^query +4 +CommentCreated +ev-4 +5 +2026-12-01T08:00:00.000Z +HTTP 422$/m);
    expect(system.seen).toEqual([]);
  });

  it('lists one subscriber with --subscriber', async () => {
    await blogctl(['parked', '--subscriber', 'query']);

    expect(system.seen[0]?.url).toBe('/admin/parked?subscriber=query');
  });

  it.each([
    [['replay', 'query', '4'], 'POST', '/admin/subscriptions/query/parked/4/replay', undefined, /query: replaying 4/],
    [['skip', 'query', '4'], 'POST', '/admin/subscriptions/query/parked/4/skip', undefined, /query: skipped 4/],
    [
      ['rewind', 'query', '0'],
      'PUT',
      '/admin/subscriptions/query/cursor',
      { cursor: 0 },
      /query: delivering again everything after 0 \(lag 5\)/,
    ],
  ])('%j sends %s %s', async (args, method, url, body, printed) => {
    const result = await blogctl(args);

    expect(result.status).toBe(0);
    expect(system.seen).toEqual([{ method, url, authorization: `Bearer ${ADMIN_TOKEN}`, body }]);
    expect(result.stdout).toMatch(printed);
  });

  it("passes on the bus's 404 for a subscriber it does not have", async () => {
    const name = SUBSCRIBER_NAMES.find((subscriber) => subscriber !== 'posts' && subscriber !== 'query') as string;
    const result = await blogctl(['replay', name, '4']);

    expect(result.status).toBe(1);
    expect(result.stderr).toBe(`blogctl: subscriber: no subscriber ${name}\n`);
  });

  it('says so when the bus refuses the credential', async () => {
    writeFileSync(path.join(dataDir, 'credentials', 'admin'), 'a-wrong-admin-secret-that-is-long-enough-00\n');
    const result = await blogctl(['parked']);

    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(
      /the bus refused the admin credential \(401: authorization: missing or unknown token\)/,
    );
  });

  it('names the file and the fix when the admin credential is missing, and sends nothing', async () => {
    rmSync(path.join(dataDir, 'credentials', 'admin'));
    const result = await blogctl(['skip', 'query', '4']);

    expect(result.status).toBe(1);
    expect(result.stderr).toContain(path.join(dataDir, 'credentials', 'admin'));
    expect(result.stderr).toMatch(/does not exist; start the system with `npm start`/);
    expect(system.seen).toEqual([]);
  });

  it(`refuses an answer longer than ${MAX_BODY_BYTES} bytes, and takes one of exactly that size`, async () => {
    const padded = (size: number) => {
      const body = JSON.stringify({ parked: PARKED, padding: '' });
      return body.replace('"padding":""', `"padding":"${'x'.repeat(size - body.length)}"`);
    };
    system.rawParked = padded(MAX_BODY_BYTES);
    expect((await blogctl(['parked'])).status).toBe(0);

    system.rawParked = padded(MAX_BODY_BYTES + 1);
    const result = await blogctl(['parked']);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/the answer is longer than 8388608 bytes/);
  });
});

describe('blogctl tail', () => {
  it('prints the newest events, then each event and delivery as it comes, and stops after --count lines', async () => {
    const done = blogctl(['tail', '--count', '3']);
    await system.streamOpened();
    system.push('appended', { seq: 6, type: 'CommentCreated', id: 'ev-6', time: '2026-12-01T08:00:06.000Z' });
    system.push('delivered', { subscriber: 'query', cursor: 6 });
    const result = await done;

    expect(result.status).toBe(0);
    expect(result.stdout.split('\n').filter(Boolean)).toEqual([
      '      5 PostCreated        ev-5 2026-12-01T08:00:05.000Z',
      '      6 CommentCreated     ev-6 2026-12-01T08:00:06.000Z',
      '        -> query at 6',
    ]);
  });

  it('prints only the newest N events and stops, with --count N no larger than what the log has', async () => {
    system.flowEvents = [4, 5].map((seq) => ({
      seq,
      type: 'PostCreated',
      id: `ev-${seq}`,
      time: `2026-12-01T08:00:0${seq}.000Z`,
    }));
    const result = await blogctl(['tail', '--count', '1']);

    expect(result.status).toBe(0);
    expect(result.stdout).toBe('      5 PostCreated        ev-5 2026-12-01T08:00:05.000Z\n');
    expect(system.flowLimits).toEqual(['1']);
  });

  it(`takes an event of ${MAX_EVENT_BYTES} bytes and refuses a longer one, rather than holding it`, async () => {
    /** An appended event of `size` bytes, without the blank line that ends it. */
    const partial = (size: number) => {
      const text = (id: string) =>
        `event: appended\ndata: ${JSON.stringify({ seq: 6, type: 'PostCreated', id, time: 't' })}`;
      return text('x'.repeat(size - text('').length));
    };
    // The newest event of the log, then one from the stream.
    const accepted = blogctl(['tail', '--count', '2']);
    await system.streamOpened();
    system.pushRaw(partial(MAX_EVENT_BYTES));
    system.pushRaw('\n\n');
    const result0 = await accepted;
    expect(result0.status).toBe(0);
    expect(result0.stdout).toMatch(/PostCreated +x{100}/);

    const refused = blogctl(['tail', '--count', '2']);
    await system.streamOpened();
    system.pushRaw(partial(MAX_EVENT_BYTES + 1));
    const result = await refused;
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(`blogctl: /flow/stream: an event longer than ${MAX_EVENT_BYTES} bytes\n`);
  });

  it('stops cleanly when aborted (Ctrl-C)', async () => {
    const stop = new AbortController();
    const done = blogctl(['tail'], { signal: stop.signal });
    await system.streamOpened();
    stop.abort();

    expect((await done).status).toBe(0);
  });
});

describe('the command line', () => {
  it.each([
    [
      ['frobnicate'],
      /command: must be one of status, parked, replay, skip, rewind, tail, rebuild, stop, start, restart, faults, fault, load, not frobnicate/,
    ],
    [['replay', 'query'], /replay: takes <subscriber> <seq>, not query/],
    [
      ['replay', 'no/body', '4'],
      new RegExp(
        `subscriber: must be a subscriber's name \\(${[...SUBSCRIBER_NAMES].sort().join(', ')}, or one of EXTRA_SUBSCRIBERS`,
      ),
    ],
    [['skip', 'query', '0'], /seq: must be a whole number of at least 1, not 0/],
    [['rewind', 'query', '-1'], /Unknown option '-1'|seq: must be a whole number/],
    [['rewind', 'query', '1.5'], /seq: must be a whole number of at least 0, not 1.5/],
    [['tail', '--count', '0'], /--count: must be a whole number of at least 1, not 0/],
    [['status', '--url', 'ftp://x'], /--url: must be an http:\/\/ URL, not ftp:\/\/x/],
    [['status', '--url', 'http://x', '--service', 'nobody=http://y'], /--service: must be NAME=URL with NAME one of/],
    [['status', '--data-dir', '/tmp'], /--views-url, --service and --data-dir: are for a local run and need --url/],
    [['status', '--url', 'http://x', '-n', 'blog'], /--namespace and --context: are for a cluster, not with --url/],
    [['status', '--bogus'], /Unknown option '--bogus'/],
    [['status', '--pod', 'query-0'], /--pod: only for rebuild/],
    [['rebuild', 'query', '--pod', 'query-0', '--url', 'http://x'], /--pod: names a pod of a cluster, not with --url/],
    [
      ['rebuild', 'query', '--pod', 'Query_0'],
      /--pod: must be a pod's name \(lowercase letters, digits, - and \., up to 253\), not Query_0/,
    ],
  ])('refuses %j with exit status 2, naming the argument and the rule', async (args, message) => {
    const result = await runCli(args, {
      stdout: { write: () => true },
      stderr: { write: (text: string) => (stderrText = text) },
      env: {},
    });

    expect(result).toBe(2);
    expect(stderrText).toMatch(message);
  });

  it('prints the usage with --help, naming the kubectl plugin', async () => {
    let stdout = '';
    const status = await runCli(['--help'], {
      stdout: { write: (text: string) => (stdout += text) },
      stderr: { write: () => true },
      env: {},
    });

    expect(status).toBe(0);
    expect(stdout).toMatch(/kubectl blog/);
  });
});

let stderrText = '';
