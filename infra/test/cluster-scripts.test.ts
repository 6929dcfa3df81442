import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { serviceAdminVerifier } from '@mini-blog/common/auth';
import { PUBLISHER_NAMES, SUBSCRIBER_NAMES } from '@mini-blog/common/registry';
import { ROUTE_CREDENTIAL, VIEWS_PRINCIPAL } from '@mini-blog/common/transport/jetstream/nats-config';
import { fakeCluster, type FakeCluster, type FakeWorld } from './support/fake-cluster';
import { ROOT } from './support/repository';

const SECRET_KEY = 'secret/mini-blog-credentials';
/** Every principal with a credential: the registry's publishers and subscribers, the operator, JetStream's views and routes. */
const PRINCIPALS = [
  ...new Set([...PUBLISHER_NAMES, ...SUBSCRIBER_NAMES, 'admin', VIEWS_PRINCIPAL, ROUTE_CREDENTIAL]),
].sort();
let cluster: FakeCluster | undefined;

afterEach(() => {
  cluster?.cleanup();
  cluster = undefined;
});

/** Runs one of infra/scripts with the fake kubectl first on PATH. */
function run(script: string, world: FakeWorld, { args = [] as string[], env = {} as Record<string, string> } = {}) {
  cluster = fakeCluster(world);
  const result = spawnSync(process.execPath, [path.join(ROOT, 'infra', 'scripts', script), ...args], {
    encoding: 'utf8',
    env: {
      ...cluster.env,
      MINI_BLOG_SKIP_CLUSTER_CHECK: '',
      SKAFFOLD_KUBE_CONTEXT: '',
      SKAFFOLD_NAMESPACES: '',
      ...env,
    },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('infra/scripts/ensure-credentials.mjs', () => {
  it('creates the Secret with one random 43-character credential per principal the launcher makes', () => {
    const result = run('ensure-credentials.mjs', {});

    expect(result.status).toBe(0);
    const secret = cluster!.world().objects?.[SECRET_KEY] as {
      stringData: Record<string, string>;
      metadata: { labels: Record<string, string> };
    };
    const principals = PRINCIPALS;
    expect(Object.keys(secret.stringData).sort()).toEqual(principals);
    for (const value of Object.values(secret.stringData)) expect(value).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(new Set(Object.values(secret.stringData)).size).toBe(principals.length);
    expect(secret.metadata.labels['app.kubernetes.io/part-of']).toBe('mini-blog');
  });

  it('hands the credentials to kubectl on stdin, never on its command line', () => {
    run('ensure-credentials.mjs', {});

    const secret = cluster!.world().objects?.[SECRET_KEY] as { stringData: Record<string, string> };
    const commandLines = cluster!.calls().map((call) => call.args.join(' '));
    for (const value of Object.values(secret.stringData))
      for (const line of commandLines) expect(line).not.toContain(value);
  });

  it('leaves a Secret that has every key as it is', () => {
    const run0 = run('ensure-credentials.mjs', {});
    expect(run0.status).toBe(0);
    const complete = cluster!.world().objects?.[SECRET_KEY] as { stringData: Record<string, string> };
    const existing = {
      kind: 'Secret',
      metadata: { name: 'mini-blog-credentials' },
      data: Object.fromEntries(
        Object.entries(complete.stringData).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
      ),
    };
    const result = run('ensure-credentials.mjs', { objects: { [SECRET_KEY]: existing } });

    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/exists; left as it is/);
    expect(cluster!.world().objects?.[SECRET_KEY]).toEqual(existing);
    expect(cluster!.calls().map((call) => call.args[0])).toEqual(['get', 'apply']);
  });

  it("applies the services' digests of the admin's tokens, as common derives them, on stdin", () => {
    const admin = 'the-admin-secret-of-this-cluster-0000000000';
    const older = 'an-older-admin-secret-still-accepted-000000';
    const existing = {
      kind: 'Secret',
      metadata: { name: 'mini-blog-credentials' },
      data: Object.fromEntries(
        PRINCIPALS.map((principal) => [
          principal,
          Buffer.from(principal === 'admin' ? `${admin}\n${older}\n` : 'x'.repeat(43)).toString('base64'),
        ]),
      ),
    };

    const result = run('ensure-credentials.mjs', { objects: { [SECRET_KEY]: existing } });

    expect(result.status).toBe(0);
    const verifiers = cluster!.world().objects?.['secret/mini-blog-admin-verifiers'] as {
      stringData: Record<string, string>;
    };
    expect(verifiers.stringData).toEqual(
      Object.fromEntries(SUBSCRIBER_NAMES.map((name) => [name, serviceAdminVerifier([admin, older], name)])),
    );
    expect(cluster!.calls().find((call) => call.args[0] === 'apply')?.args).toEqual(['apply', '-f', '-']);
  });

  it('adds a key for each principal an existing Secret lacks, keeping the keys it has, on stdin', () => {
    const existing = { kind: 'Secret', metadata: { name: 'mini-blog-credentials' }, data: { posts: 'b2xk' } };
    const result = run('ensure-credentials.mjs', { objects: { [SECRET_KEY]: existing } });

    expect(result.status).toBe(0);
    const lacking = PRINCIPALS.filter((principal) => principal !== 'posts');
    expect(result.stdout).toMatch(`its keys kept, new keys added: `);
    const secret = cluster!.world().objects?.[SECRET_KEY] as { data: Record<string, string> };
    expect(secret.data.posts).toBe('b2xk');
    const added = Object.entries(secret.data).filter(([principal]) => principal !== 'posts');
    expect(added.map(([principal]) => principal).sort()).toEqual(lacking);
    for (const [, value] of added) expect(Buffer.from(value, 'base64').toString()).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const commandLines = cluster!.calls().map((call) => call.args.join(' '));
    for (const [, value] of added) for (const line of commandLines) expect(line).not.toContain(value);
    expect(cluster!.calls().map((call) => call.args[0])).not.toContain('create');
  });

  it('keeps the Secret another run created between its check and its create', () => {
    const theirAdmin = 'the-admin-secret-the-other-run-made-0000000';
    const theirs = {
      kind: 'Secret',
      metadata: { name: 'mini-blog-credentials' },
      data: { posts: 'dGhlaXJz', admin: Buffer.from(`${theirAdmin}\n`).toString('base64') },
    };
    const result = run('ensure-credentials.mjs', { objects: { [SECRET_KEY]: theirs }, hidden: [SECRET_KEY] });

    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/created meanwhile/);
    expect(cluster!.world().objects?.[SECRET_KEY]).toEqual(theirs);
    // The digests come from the admin key the other run made.
    const verifiers = cluster!.world().objects?.['secret/mini-blog-admin-verifiers'] as {
      stringData: Record<string, string>;
    };
    expect(verifiers.stringData.moderation).toBe(serviceAdminVerifier([theirAdmin], 'moderation'));
  });

  it('fails with the reason and a hint when kubectl cannot reach the cluster', () => {
    const result = run('ensure-credentials.mjs', { error: 'The connection to the server localhost:8080 was refused' });

    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/connection to the server localhost:8080 was refused/);
    expect(result.stderr).toMatch(/kubectl config current-context/);
  });

  it("targets skaffold's context and first namespace in a deploy hook", () => {
    run(
      'ensure-credentials.mjs',
      {},
      { env: { SKAFFOLD_KUBE_CONTEXT: 'kind-mini-blog', SKAFFOLD_NAMESPACES: 'blog,other' } },
    );

    for (const call of cluster!.calls())
      expect(call.args.slice(0, 4)).toEqual(['--context', 'kind-mini-blog', '--namespace', 'blog']);
  });
});

describe('infra/scripts/cluster-check.mjs', () => {
  const ready = { type: 'Ready', status: 'True' };
  const controllerPod = (conditions = [ready]) => ({
    metadata: { name: 'ingress-nginx-controller-1', labels: { 'app.kubernetes.io/component': 'controller' } },
    status: { conditions },
  });
  const ingressNginx = (pods = [controllerPod()], loadBalancer: string[] = []): FakeWorld => ({
    objects: { 'ingressclass/nginx': { kind: 'IngressClass', metadata: { name: 'nginx' } } },
    lists: {
      pods,
      services: [
        {
          metadata: { name: 'ingress-nginx-controller', labels: { 'app.kubernetes.io/component': 'controller' } },
          status: { loadBalancer: { ingress: loadBalancer.map((ip) => ({ ip })) } },
        },
      ],
      nodes: [{ status: { addresses: [{ type: 'InternalIP', address: '192.168.49.2' }] } }],
    },
  });
  const envoyGateway = (accepted: boolean, gatewayAddress?: string): FakeWorld => ({
    objects: {
      'crd/gateways.gateway.networking.k8s.io': { kind: 'CustomResourceDefinition' },
      'gatewayclass/eg': {
        kind: 'GatewayClass',
        status: { conditions: [{ type: 'Accepted', status: accepted ? 'True' : 'False' }] },
      },
    },
    lists: {
      gateways: gatewayAddress ? [{ status: { addresses: [{ type: 'IPAddress', value: gatewayAddress }] } }] : [],
      nodes: [],
    },
  });
  const check = (world: FakeWorld, host: string, args: string[] = []) =>
    run('cluster-check.mjs', world, { args, env: { MINI_BLOG_HOST: host } });

  it('passes with a ready ingress-nginx and the host on this machine', () => {
    const result = check(ingressNginx(), '127.0.0.1');

    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/ingress-nginx is ready and 127\.0\.0\.1 leads to it/);
  });

  it('passes with a name that resolves through the hosts file to loopback', () => {
    expect(check(ingressNginx(), 'localhost').status).toBe(0);
  });

  it("passes with the host on the controller's load balancer address or on a node (minikube ip)", () => {
    expect(check(ingressNginx([controllerPod()], ['203.0.113.10']), '203.0.113.10').status).toBe(0);
    expect(check(ingressNginx(), '192.168.49.2').status).toBe(0);
  });

  it('fails with the install command when ingress-nginx is missing', () => {
    const result = check({ lists: { nodes: [] } }, '127.0.0.1');

    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/ingress-nginx is not installed \(no IngressClass "nginx"\)/);
    expect(result.stderr).toMatch(
      /kubectl apply -f https:\/\/raw\.githubusercontent\.com\/kubernetes\/ingress-nginx\/controller-v1\.15\.1\/deploy\/static\/provider\/kind\/deploy\.yaml/,
    );
    expect(result.stderr).toMatch(/skaffold dev -p gateway-api/);
  });

  it('fails when the controller has no ready pod', () => {
    const result = check(ingressNginx([controllerPod([{ type: 'Ready', status: 'False' }])]), '127.0.0.1');

    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/no ready pod in the namespace ingress-nginx \(1 found\)/);
  });

  it('fails with the hosts line when the host does not resolve', () => {
    const result = check(ingressNginx(), 'mini-blog-check.invalid');

    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/mini-blog-check\.invalid does not resolve/);
    expect(result.stderr).toMatch(/add "127\.0\.0\.1 mini-blog-check\.invalid" to \/etc\/hosts/);
  });

  it('fails when the host leads elsewhere, as the public posts.com does without a hosts entry', () => {
    const result = check(ingressNginx(), '198.51.100.7');

    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(
      /resolves to 198\.51\.100\.7, which is neither this machine nor the cluster \(127\.0\.0\.1, 192\.168\.49\.2\)/,
    );
  });

  it('reports every problem at once', () => {
    const result = check({ lists: { nodes: [] } }, '198.51.100.7');

    expect(result.stderr.match(/^- /gm)).toHaveLength(2);
  });

  describe('--gateway', () => {
    it('passes with an accepted GatewayClass "eg" and the host on the Gateway address', () => {
      const result = check(envoyGateway(true, '203.0.113.20'), '203.0.113.20', ['--gateway']);

      expect(result.status).toBe(0);
      expect(result.stdout).toMatch(/Envoy Gateway is ready/);
    });

    it('fails when the Gateway API CRDs are missing', () => {
      const result = check({ lists: { nodes: [] } }, '127.0.0.1', ['--gateway']);

      expect(result.status).toBe(1);
      expect(result.stderr).toMatch(/Gateway API CRDs are not installed/);
    });

    it('fails when no controller accepted the GatewayClass', () => {
      const result = check(envoyGateway(false), '127.0.0.1', ['--gateway']);

      expect(result.status).toBe(1);
      expect(result.stderr).toMatch(/GatewayClass "eg" is not accepted/);
    });
  });

  it('fails with a hint when kubectl cannot reach the cluster', () => {
    const result = check({ error: 'error: You must be logged in to the server (Unauthorized)' }, '127.0.0.1');

    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/Unauthorized/);
    expect(result.stderr).toMatch(/kubectl config current-context/);
  });

  it('checks nothing with MINI_BLOG_SKIP_CLUSTER_CHECK=1', () => {
    const result = run('cluster-check.mjs', { error: 'unreachable' }, { env: { MINI_BLOG_SKIP_CLUSTER_CHECK: '1' } });

    expect(result.status).toBe(0);
    expect(cluster!.calls()).toEqual([]);
  });
});
