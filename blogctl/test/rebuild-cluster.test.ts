import { createServer, type Server } from 'node:http';
import { parseAdminVerifier, serviceAdminVerifier } from '@mini-blog/common/auth';
import { inMemoryProjection } from '@mini-blog/common/projection';
import { SERVICES } from '@mini-blog/common/registry';
import { createEventService, listen, silentLogger, type EventServiceParts } from '@mini-blog/common/service';
import { MemoryBus } from '@mini-blog/common/testing';
import { fakeCluster, type FakeCluster, type FakeWorld } from '../../infra/test/support/fake-cluster';
import { publishPosts, runBlogctl } from './support/run';

/**
 * `kubectl blog rebuild` on a cluster whose service runs in several pods, each a real service with
 * its own projection and admin routes; kubectl (a fake one, first on PATH) lists the pods and
 * forwards a port to each.
 */

// Each kubectl call starts a Node process (the fake), and each pod's rebuild is followed at blogctl's pace.
jest.setTimeout(30_000);

const ADMIN_SECRET = 'the-admin-secret-of-this-test-run-000000000';
const PORT = SERVICES.query.port;

interface FakePod {
  readonly service: EventServiceParts<void>;
  readonly server: Server;
  readonly port: number;
  /** Makes the projection's reducer throw, so that a rebuild fails. */
  failing: boolean;
}

const pods = new Map<string, FakePod>();
let cluster: FakeCluster | undefined;

async function startPod(name: string): Promise<void> {
  const bus = new MemoryBus();
  await publishPosts(bus, 50);
  const pod: Partial<FakePod> & { failing: boolean } = { failing: false };
  const service = createEventService({
    name: 'query',
    bus,
    logger: silentLogger(),
    projection: inMemoryProjection<'query'>(() => {
      if (pod.failing) throw new Error('SQLITE_FULL: database or disk is full');
    }),
    admin: { verifiers: parseAdminVerifier(serviceAdminVerifier([ADMIN_SECRET], 'query')) },
  });
  await service.consumer.start();
  const server = createServer(service.app);
  pods.set(name, Object.assign(pod, { service, server, port: await listen(server, 0, '127.0.0.1') }) as FakePod);
}

afterEach(async () => {
  cluster?.cleanup();
  cluster = undefined;
  for (const pod of pods.values()) {
    pod.server.closeAllConnections();
    pod.server.close();
    await pod.service.close();
  }
  pods.clear();
});

const podObject = (name: string, service: string, ready: boolean) => ({
  metadata: { name, labels: { 'app.kubernetes.io/name': service, 'app.kubernetes.io/part-of': 'mini-blog' } },
  status: { conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
});

/**
 * The query Service and its pods (out of order, beside another service's pod), each a running
 * process with a port forwarded to it, an unready one too (a Running pod whose /readyz says no).
 */
async function aCluster(ready: string[], notReady: string[] = []): Promise<FakeCluster> {
  for (const name of [...ready, ...notReady]) await startPod(name);
  const world: FakeWorld = {
    objects: {
      'secret/mini-blog-credentials': {
        kind: 'Secret',
        metadata: { name: 'mini-blog-credentials' },
        data: { admin: Buffer.from(`${ADMIN_SECRET}\n`).toString('base64') },
      },
      'service/query-srv': {
        kind: 'Service',
        metadata: { name: 'query-srv' },
        spec: { selector: { 'app.kubernetes.io/name': 'query' } },
      },
    },
    lists: {
      pods: [
        podObject('posts-6d4cf56db6-x7k2p', 'posts', true),
        ...[...ready, ...notReady].reverse().map((name) => podObject(name, 'query', ready.includes(name))),
      ],
    },
    portForward: Object.fromEntries([...pods].map(([name, pod]) => [`pod/${name}:${PORT}`, pod.port])),
  };
  cluster = fakeCluster(world);
  return cluster;
}

const statusOf = (name: string) => pods.get(name)!.service.rebuilder.status;

describe('kubectl blog rebuild <service> on a cluster', () => {
  it('rebuilds every ready pod of the service, one after the other in the order of their names, a line of progress each', async () => {
    const { env, calls } = await aCluster(['query-0', 'query-1'], ['query-2']);

    const result = await runBlogctl(['rebuild', 'query'], env);

    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.lines[0]).toBe('query: rebuilding on 2 pods, one at a time: query-0, query-1');
    expect(result.lines[1]).toBe('query-2: not ready, left as it is');
    const live0 = result.lines.indexOf('query-0: the rebuilt projection is live (1 of 2)');
    const live1 = result.lines.indexOf('query-1: the rebuilt projection is live (2 of 2)');
    expect(live0).toBeGreaterThan(1);
    for (const line of result.lines.slice(2, live0))
      expect(line).toMatch(/^query-0: (running|swapped) \d+\/\d+ events/);
    for (const line of result.lines.slice(live0 + 1, live1))
      expect(line).toMatch(/^query-1: (running|swapped) \d+\/\d+ events/);
    expect(live1).toBeGreaterThan(live0 + 1);
    expect(result.lines.at(-1)).toBe('query: rebuilt on query-0, query-1');
    expect(statusOf('query-0')).toMatchObject({ state: 'swapped', position: 50 });
    expect(statusOf('query-1')).toMatchObject({ state: 'swapped', position: 50 });
    expect(statusOf('query-2').state).toBe('idle');
    // One at a time: the second started once the first had swapped.
    expect(Date.parse(statusOf('query-1').startedAt!)).toBeGreaterThanOrEqual(
      Date.parse(statusOf('query-0').finishedAt!),
    );
    // The pods come from the Service's own selector; each pod is forwarded to, and the forward stopped, in turn.
    expect(calls().map((call) => call.args)).toEqual([
      ['get', 'secret', 'mini-blog-credentials', '--ignore-not-found', '-o', 'json'],
      ['get', 'service', 'query-srv', '--ignore-not-found', '-o', 'json'],
      ['get', 'pods', '-l', 'app.kubernetes.io/name=query', '-o', 'json'],
      ['port-forward', 'pod/query-0', `:${PORT}`],
      ['(port-forward stopped)'],
      ['port-forward', 'pod/query-1', `:${PORT}`],
      ['(port-forward stopped)'],
    ]);
  });

  it('stops at a pod whose rebuild fails, with exit status 1, naming it, what was rebuilt and what was not tried', async () => {
    const { env } = await aCluster(['query-0', 'query-1', 'query-2']);
    pods.get('query-1')!.failing = true;

    const result = await runBlogctl(['rebuild', 'query'], env);

    expect(result.status).toBe(1);
    expect(result.stderr).toBe(
      'blogctl: query-1: the rebuild failed (SQLITE_FULL: database or disk is full); its live projection stays; rebuilt: query-0; not tried: query-2\n',
    );
    expect(result.lines).toContain('query-0: the rebuilt projection is live (1 of 3)');
    expect(statusOf('query-0').state).toBe('swapped');
    expect(statusOf('query-1').state).toBe('failed');
    expect(statusOf('query-2').state).toBe('idle');
  });

  it('rebuilds only the pod --pod names', async () => {
    const { env } = await aCluster(['query-0', 'query-1']);

    const result = await runBlogctl(['rebuild', 'query', '--pod', 'query-1'], env);

    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.lines[0]).toBe('query: rebuilding on query-1');
    expect(result.lines.at(-1)).toBe('query-1: the rebuilt projection is live');
    expect(statusOf('query-1').state).toBe('swapped');
    expect(statusOf('query-0').state).toBe('idle');
  });

  it("prints each state as JSON with its pod's name with --json", async () => {
    const { env } = await aCluster(['query-0', 'query-1']);

    const result = await runBlogctl(['rebuild', 'query', '--json'], env);

    expect(result.status).toBe(0);
    const states = result.lines.map((line) => JSON.parse(line) as { pod: string; state: string });
    expect(states.at(-1)).toMatchObject({ pod: 'query-1', state: 'swapped' });
    expect(states.findIndex((state) => state.pod === 'query-1')).toBeGreaterThan(
      states.findIndex((state) => state.pod === 'query-0' && state.state === 'swapped'),
    );
  });

  it('refuses a --pod that is not a pod of the service with exit status 1, naming its pods, rebuilding nothing', async () => {
    const { env, calls } = await aCluster(['query-0', 'query-1'], ['query-2']);

    const result = await runBlogctl(['rebuild', 'query', '--pod', 'posts-6d4cf56db6-x7k2p'], env);

    expect(result.status).toBe(1);
    expect(result.stderr).toBe(
      'blogctl: --pod posts-6d4cf56db6-x7k2p: not a pod of query (its pods: query-0, query-1, query-2)\n',
    );
    expect(calls().map((call) => call.args[0])).not.toContain('port-forward');
  });

  it('rebuilds a pod that is not ready when --pod names it (one kept unready may be what needs mending)', async () => {
    const { env } = await aCluster(['query-0', 'query-1'], ['query-2']);

    const result = await runBlogctl(['rebuild', 'query', '--pod', 'query-2'], env);

    expect(result.stderr).toBe('');
    expect(result.lines[0]).toBe('query: rebuilding on query-2 (not ready, but named by --pod)');
    expect(statusOf('query-2').state).toBe('swapped');
    expect(statusOf('query-0').state).toBe('idle');
  });

  it('says so when no pod of the service is ready', async () => {
    const { env } = await aCluster([], ['query-0', 'query-1']);

    const result = await runBlogctl(['rebuild', 'query'], env);

    expect(result.status).toBe(1);
    expect(result.stderr).toBe(
      'blogctl: query: no ready pod (query-0 not ready, query-1 not ready); --pod names one to rebuild anyway\n',
    );
  });

  it('says to deploy first when the service has no Service here', async () => {
    const { env } = await aCluster(['query-0']);

    const result = await runBlogctl(['rebuild', 'comments'], env);

    expect(result.status).toBe(1);
    expect(result.stderr).toBe('blogctl: no Service comments-srv here: deploy first, or pick the namespace with -n\n');
  });
});
