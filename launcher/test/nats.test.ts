import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { natsPrincipals } from '@mini-blog/common/transport/jetstream/nats-config';
import { waitFor } from '@mini-blog/common/testing';
import { findNatsServer, parseTransportArgs, startNats, type RunningNats } from '../src/nats';

const PASSWORDS = Object.fromEntries(natsPrincipals().map((name) => [name, `${name}-`.padEnd(43, 'x')]));
const ROUTE_PASSWORD = 'r'.repeat(43);

describe('parseTransportArgs', () => {
  it('keeps the HTTP bus without flags', () => {
    expect(parseTransportArgs([])).toEqual({ transport: 'http' });
  });

  it('runs one NATS node by default and three on request', () => {
    expect(parseTransportArgs(['--transport=jetstream'])).toEqual({ transport: 'jetstream', natsNodes: 1 });
    expect(parseTransportArgs(['--fresh', '--transport=jetstream', '--nats-nodes=3'])).toEqual({
      transport: 'jetstream',
      natsNodes: 3,
    });
  });

  it.each([
    [['--transport=kafka'], '--transport: must be http or jetstream, not kafka'],
    [['--transport=jetstream', '--nats-nodes=2'], '--nats-nodes: must be 1 or 3, not 2'],
    [['--transport=jetstream', '--nats-nodes=three'], '--nats-nodes: must be 1 or 3, not three'],
    [['--nats-nodes=3'], '--nats-nodes: needs --transport=jetstream'],
  ])('refuses %j naming the flag and the rule', (argv, message) => {
    expect(() => parseTransportArgs(argv)).toThrow(message);
  });
});

describe('findNatsServer', () => {
  it("names Debian's package when nats-server is nowhere", () => {
    expect(() => findNatsServer({ PATH: '/nonexistent' }, [])).toThrow('apt-get install -y nats-server');
  });

  it('refuses a NATS_SERVER that is not an executable file', () => {
    expect(() => findNatsServer({ NATS_SERVER: '/nonexistent/nats-server' })).toThrow(
      'NATS_SERVER: /nonexistent/nats-server is not an executable file',
    );
  });
});

describe('startNats', () => {
  let dir: string;
  let nats: RunningNats | undefined;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'mini-blog-nats-'));
  });
  afterEach(async () => {
    await nats?.stop();
    nats = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts a 3-node cluster on loopback with its store and its configuration under the data folder', async () => {
    nats = await startNats({
      nodes: 3,
      dataDir: dir,
      passwords: PASSWORDS,
      routePassword: ROUTE_PASSWORD,
      log: () => undefined,
      freePorts: true,
    });

    expect(nats.url.split(',')).toHaveLength(3);
    expect(nats.url.split(',').every((url) => /^nats:\/\/127\.0\.0\.1:\d+$/.test(url))).toBe(true);
    for (const index of [0, 1, 2]) {
      // The configuration holds every password: the owner's alone.
      expect(statSync(path.join(dir, 'nats', `nats-${index}.conf`)).mode & 0o777).toBe(0o600);
      expect(statSync(path.join(dir, 'nats', `nats-${index}`, 'jetstream')).isDirectory()).toBe(true);
    }
  });

  it("keeps nats-server's banners in a log file per node and prints one line per node", async () => {
    const lines: string[] = [];
    nats = await startNats({
      nodes: 3,
      dataDir: dir,
      passwords: PASSWORDS,
      routePassword: ROUTE_PASSWORD,
      log: (name, line) => lines.push(`${name} ${line}`),
      freePorts: true,
    });

    expect(lines).toEqual(
      [0, 1, 2].map((index) =>
        expect.stringMatching(
          new RegExp(
            `^nats-${index} ready: clients at nats://127\\.0\\.0\\.1:\\d+, routes at \\d+, its store in .*nats-${index}, its log in .*nats-${index}\\.log$`,
          ),
        ),
      ),
    );
    expect(nats.logFiles).toEqual([0, 1, 2].map((index) => path.join(dir, 'nats', `nats-${index}.log`)));
    for (const file of nats.logFiles) {
      expect(readFileSync(file, 'utf8')).toContain('[INF] Starting nats-server');
      expect(statSync(file).mode & 0o777).toBe(0o600);
    }
  });

  it('restarts a node that was killed, as it restarts a service', async () => {
    const lines: string[] = [];
    nats = await startNats({
      nodes: 1,
      dataDir: dir,
      passwords: PASSWORDS,
      routePassword: ROUTE_PASSWORD,
      log: (name, line) => lines.push(`${name} ${line}`),
      freePorts: true,
    });
    const node = nats.nodes[0]!;
    const firstPid = node.pid;

    process.kill(firstPid!, 'SIGKILL');
    await waitFor(() => node.running && node.pid !== firstPid, 'the restart');
    await nats.waitHealthy(0);

    expect(lines.some((line) => /^nats-0 exited \(SIGKILL\); restart 1 in \d+ ms/.test(line))).toBe(true);
  });

  it('says which node did not become healthy, with its last lines', async () => {
    await expect(
      startNats({
        nodes: 1,
        dataDir: dir,
        passwords: PASSWORDS,
        routePassword: ROUTE_PASSWORD,
        log: () => undefined,
        freePorts: true,
        binary: '/bin/false',
        readyTimeoutMs: 500,
      }),
    ).rejects.toThrow(/nats-0 was not ready within 500 ms/);
  });
});
