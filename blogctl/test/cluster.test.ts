import { fakeCluster, type FakeCluster } from '../../infra/test/support/fake-cluster';
import { ADMIN_TOKEN, startFakeSystem, type FakeSystem } from './support/fake-bus';
import { runBlogctl } from './support/run';

/**
 * blogctl against a cluster: kubectl (a fake one, first on PATH) forwards the bus's ports to the
 * fake bus and answers for the Secret and the pods, as the real one does on a cluster.
 */

let system: FakeSystem;
let cluster: FakeCluster | undefined;

const secret = (admin: string) => ({
  kind: 'Secret',
  metadata: { name: 'mini-blog-credentials' },
  data: { admin: Buffer.from(admin).toString('base64') },
});
const pod = (name: string, ready: boolean) => ({
  metadata: { labels: { 'app.kubernetes.io/name': name, 'app.kubernetes.io/part-of': 'mini-blog' } },
  status: { conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
});

beforeEach(async () => {
  system = await startFakeSystem();
});

afterEach(async () => {
  cluster?.cleanup();
  cluster = undefined;
  await system.close();
});

function aCluster(world: Parameters<typeof fakeCluster>[0] = {}) {
  const port = (url: string) => Number(new URL(url).port);
  cluster = fakeCluster({
    portForward: { 4005: port(system.busUrl), 4006: port(system.viewsUrl) },
    objects: {
      'secret/mini-blog-credentials': secret(`${ADMIN_TOKEN}\nan-older-admin-secret-still-accepted-000000\n`),
    },
    lists: {
      pods: [pod('event-bus', true), pod('posts', true), pod('query', false), pod('query', true), pod('client', true)],
    },
    ...world,
  });
  return cluster;
}

describe('blogctl against a cluster (kubectl blog)', () => {
  it("port-forwards to the bus, reads its views, takes readiness from the pods' Ready condition, and stops the port-forward", async () => {
    const { env, calls } = aCluster();
    const result = await runBlogctl(['status'], env);

    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^query +3 +2 +1 +1 +retrying: HTTP 500$/m);
    expect(result.stdout).toMatch(/^event-bus +ready$/m);
    expect(result.stdout).toMatch(/^query +1\/2 pods ready$/m);
    expect(result.stdout).toMatch(/^comments +no pod$/m);
    const made = calls().map((call) => call.args);
    // The views and the pods are asked for at once; the port-forward stops last.
    expect(made.slice(0, 2)).toEqual(
      expect.arrayContaining([
        ['port-forward', 'service/event-bus-srv', ':4006'],
        ['get', 'pods', '-l', 'app.kubernetes.io/part-of=mini-blog', '-o', 'json'],
      ]),
    );
    expect(made.slice(2)).toEqual([['(port-forward stopped)']]);
  });

  it('works on the JetStream variant, whose event-bus-srv has only the views port: status, and the readiness of NATS and the views process', async () => {
    const { env } = aCluster({
      portForward: { 4006: Number(new URL(system.viewsUrl).port) },
      lists: { pods: [pod('event-views', true), pod('nats', true), pod('nats', true), pod('posts', true)] },
    });
    const result = await runBlogctl(['status'], env);

    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^event-views +ready$/m);
    expect(result.stdout).toMatch(/^nats +ready$/m);
    expect(result.stdout).toMatch(/^event-bus +no pod$/m);
  });

  it('says that the JetStream variant has no admin API when the bus port cannot be forwarded', async () => {
    const { env } = aCluster({ portForward: { 4006: Number(new URL(system.viewsUrl).port) } });
    const result = await runBlogctl(['parked'], env);

    expect(result.status).toBe(1);
    expect(result.stderr).toBe(
      'blogctl: kubectl port-forward service/event-bus-srv: error: the fake cluster has nothing on port 4005 (on the JetStream transport there is no bus, and no admin API)\n',
    );
  });

  it("sends the first line of the Secret's admin key as the Bearer token", async () => {
    const { env } = aCluster();
    const result = await runBlogctl(['parked'], env);

    expect(result.status).toBe(0);
    expect(system.seen.map((seen) => seen.authorization)).toEqual([`Bearer ${ADMIN_TOKEN}`]);
  });

  it('passes the namespace and context to every kubectl call', async () => {
    const { env, calls } = aCluster();
    await runBlogctl(['parked', '-n', 'blog', '--context', 'kind-mini-blog'], env);

    for (const call of calls().filter((entry) => entry.args[0] !== '(port-forward stopped)')) {
      expect(call.args.slice(0, 4)).toEqual(['--context', 'kind-mini-blog', '--namespace', 'blog']);
    }
  });

  it('says to deploy first when the namespace has no credentials Secret, before forwarding anything', async () => {
    const { env, calls } = aCluster({ objects: {} });
    const result = await runBlogctl(['skip', 'query', '4'], env);

    expect(result.status).toBe(1);
    expect(result.stderr).toBe(
      'blogctl: no Secret mini-blog-credentials here: deploy first (skaffold creates it), or pick the namespace with -n\n',
    );
    expect(system.seen).toEqual([]);
    expect(calls().map((call) => call.args[0])).not.toContain('port-forward');
  });

  it('forwards the bus port for an admin command, and stops it afterwards', async () => {
    const { env, calls } = aCluster();
    await runBlogctl(['skip', 'query', '4'], env);

    expect(calls().map((call) => call.args)).toEqual([
      ['get', 'secret', 'mini-blog-credentials', '--ignore-not-found', '-o', 'json'],
      ['port-forward', 'service/event-bus-srv', ':4005'],
      ['(port-forward stopped)'],
    ]);
  });

  it("fails with kubectl's message when the port-forward cannot start", async () => {
    const { env } = aCluster({ portForward: {} });
    const result = await runBlogctl(['status'], env);

    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(
      /kubectl port-forward service\/event-bus-srv: error: the fake cluster has nothing on port 4006/,
    );
  });

  it('fails with a hint when kubectl is not installed', async () => {
    const result = await runBlogctl(['status'], { PATH: '/nonexistent' });

    expect(result.status).toBe(1);
    expect(result.stderr).toBe('blogctl: kubectl: not installed or not on PATH\n');
  });
});

describe('the fault switches on a cluster (kubectl blog)', () => {
  const workload = (kind: string, name: string, replicas: number) => ({
    kind,
    metadata: { name, labels: { 'app.kubernetes.io/name': name, 'app.kubernetes.io/part-of': 'mini-blog' } },
    spec: { replicas },
  });
  /** kubectl finds a workload by its labels (the fake answers any such list with it). */
  const withWorkloads = (found: ReturnType<typeof workload>) =>
    aCluster({
      portForward: { 4005: Number(new URL(system.busUrl).port), 4006: Number(new URL(system.viewsUrl).port) },
      objects: {
        'secret/mini-blog-credentials': secret(ADMIN_TOKEN),
        [`${found.kind.toLowerCase()}/${found.metadata.name}`]: found,
      },
      lists: { 'deployments,statefulsets': [found] },
    });
  const replicasOf = (world: ReturnType<FakeCluster['world']>, key: string) =>
    world.objects?.[key] as { spec: { replicas: number }; metadata: { annotations?: Record<string, string> } };

  it('stops a service by scaling it to 0, remembering its replicas, and starts it back to them', async () => {
    const cluster = withWorkloads(workload('Deployment', 'posts', 2));

    const stopped = await runBlogctl(['stop', 'posts'], cluster.env);
    const afterStop = replicasOf(cluster.world(), 'deployment/posts');
    const started = await runBlogctl(['start', 'posts'], cluster.env);
    const afterStart = replicasOf(cluster.world(), 'deployment/posts');

    expect(stopped).toMatchObject({ status: 0, stderr: '' });
    expect(stopped.stdout).toContain(
      'posts: stopped (deployment/posts scaled to 0; `kubectl blog start posts` scales it back to 2)',
    );
    expect(afterStop.spec.replicas).toBe(0);
    expect(afterStop.metadata.annotations).toEqual({ 'mini-blog.dev/replicas-before-stop': '2' });
    expect(started.stdout).toContain('posts: starting, 2 replica(s)');
    expect(afterStart.spec.replicas).toBe(2);
    expect(afterStart.metadata.annotations).toEqual({});
  });

  it('restarts the bus with a rollout restart of its StatefulSet', async () => {
    const cluster = withWorkloads(workload('StatefulSet', 'event-bus', 1));

    const restarted = await runBlogctl(['restart', 'event-bus'], cluster.env);

    expect(restarted.stdout).toContain('event-bus: restarting (kubectl rollout restart statefulset/event-bus)');
    expect(cluster.calls().map((call) => call.args.join(' '))).toContain('rollout restart statefulset/event-bus');
  });

  it("sets a delivery switch through the bus's admin API, with the admin credential from the Secret", async () => {
    const cluster = withWorkloads(workload('StatefulSet', 'event-bus', 1));
    system.faultSwitches = { deliveries: {}, log: { slowMs: 0 } };

    const paused = await runBlogctl(['fault', 'pause', 'query'], cluster.env);

    expect(paused).toMatchObject({ status: 0, stderr: '' });
    expect(paused.stdout).toBe('fault switches on:\n  query       paused (its lag grows)\n');
    expect(system.seen.at(-1)).toMatchObject({
      method: 'PATCH',
      url: '/admin/faults/deliveries/query',
      authorization: `Bearer ${ADMIN_TOKEN}`,
      body: { paused: true },
    });
  });

  it("says how to turn the bus's switches on when it runs without them", async () => {
    const cluster = withWorkloads(workload('StatefulSet', 'event-bus', 1));

    const refused = await runBlogctl(['fault', 'fail', 'moderation'], cluster.env);

    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('kubectl set env statefulset/event-bus FAULT_SWITCHES=on');
  });
});
