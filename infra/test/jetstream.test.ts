import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SUBSCRIBER_NAMES } from '@mini-blog/common/registry';
import { natsPermissions, natsPrincipals } from '@mini-blog/common/transport/jetstream/nats-config';
import { schemaErrors, unknownFieldErrors } from './support/kubernetes-schemas';
import { hasKubectl, kubectlKustomize } from './support/kustomize';
import {
  loadSkaffold,
  projectionStorage,
  ROOT,
  skaffoldVariants,
  workloadsOf,
  type K8sObject,
} from './support/repository';

const OVERLAY = path.join(ROOT, 'infra', 'k8s-jetstream');

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    configMapKeyRef?: { key: string };
    secretKeyRef?: { name: string; key: string };
    fieldRef?: { fieldPath: string };
  };
}
interface Container {
  name: string;
  image: string;
  args?: string[];
  command?: string[];
  env?: EnvVar[];
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
  startupProbe?: { httpGet: { path: string } };
  readinessProbe?: { httpGet: { path: string } };
  livenessProbe?: { httpGet: { path: string } };
}
interface PodTemplate {
  metadata: { labels: Record<string, string> };
  spec: {
    containers: Container[];
    volumes?: {
      name: string;
      secret?: { secretName: string; items?: { key: string }[] };
      configMap?: { name: string };
    }[];
  };
}
type Workload = K8sObject & {
  spec: {
    replicas: number;
    template: PodTemplate;
    serviceName?: string;
    volumeClaimTemplates?: { metadata: { name: string } }[];
  };
};

/** The nats.conf of the ConfigMap, with each `$NAME` (taken from the env) as the string `"$NAME"`. */
function natsConfig(objects: readonly K8sObject[]): { text: string; json: Record<string, unknown> } {
  const text =
    objects.find((object) => object.kind === 'ConfigMap' && object.metadata.name === 'nats-config')?.data?.[
      'nats.conf'
    ] ?? '';
  return { text, json: JSON.parse(text.replace(/: \$([A-Z_]+)/g, ': "$$$1"')) as Record<string, unknown> };
}

const find = (objects: readonly K8sObject[], kind: string, name: string) =>
  objects.find((object) => object.kind === kind && object.metadata.name === name);

(hasKubectl ? describe : describe.skip)('infra/k8s-jetstream: the blog on NATS JetStream', () => {
  const objects = kubectlKustomize(OVERLAY);
  const workload = (kind: string, name: string) => find(objects, kind, name) as Workload | undefined;
  /** Each event-driven service's workload: a Deployment or a StatefulSet (docs/kubernetes.md says which, and why). */
  const services = SUBSCRIBER_NAMES.map(
    (name) => [name, (workload('Deployment', name) ?? workload('StatefulSet', name))!] as const,
  );

  it('renders objects that validate against the Kubernetes schemas, with no unknown field', () => {
    const known = objects.filter((object) => object.kind !== 'PodDisruptionBudget');
    expect(
      known.flatMap((object) =>
        schemaErrors(object).map((error) => `${object.kind} ${object.metadata.name}: ${error}`),
      ),
    ).toEqual([]);
    expect(unknownFieldErrors(known)).toEqual([]);
  });

  it('routes nothing of its own: the Ingress objects are those of infra/k8s, which the local gateway reads', () => {
    const base = kubectlKustomize(path.join(ROOT, 'infra', 'k8s')).filter((object) => object.kind === 'Ingress');
    expect(objects.filter((object) => object.kind === 'Ingress')).toEqual(base);
  });

  it('renders the dev variant as well', () => {
    expect(
      kubectlKustomize(path.join(OVERLAY, 'dev')).map((object) => `${object.kind} ${object.metadata.name}`),
    ).toEqual(objects.map((object) => `${object.kind} ${object.metadata.name}`));
  });

  it('gives the views the read-only credential views and no other', () => {
    const views = workload('Deployment', 'event-views')!;
    const volume = views.spec.template.spec.volumes?.find((candidate) => candidate.secret);

    expect(volume?.secret?.items?.map((item) => item.key)).toEqual(['views']);
  });

  it('replaces the event bus: no bus StatefulSet, the port the Ingress routes to leads to the read-only views', () => {
    expect(workload('StatefulSet', 'event-bus')).toBeUndefined();
    const views = workload('Deployment', 'event-views')!;
    const container = views.spec.template.spec.containers[0] as Container & {
      ports: { name: string; containerPort: number }[];
    };
    const service = find(objects, 'Service', 'event-bus-srv')!.spec as {
      selector: Record<string, string>;
      ports: { port: number; targetPort: string }[];
    };
    const routed = objects
      .filter((object) => object.kind === 'Ingress')
      .flatMap(
        (object) =>
          (
            object.spec as {
              rules: { http: { paths: { backend: { service: { name: string; port: { number: number } } } }[] } }[];
            }
          ).rules,
      )
      .flatMap((rule) => rule.http.paths.map((entry) => entry.backend.service))
      .filter((backend) => backend.name === 'event-bus-srv');
    const policy = find(objects, 'NetworkPolicy', 'event-views')!.spec as { ingress: { ports: { port: number }[] }[] };

    expect(service.selector).toEqual({
      'app.kubernetes.io/name': views.spec.template.metadata.labels['app.kubernetes.io/name'],
    });
    expect(container.command).toEqual(['node', '/app/common/dist/transport/jetstream/views-server.js']);
    for (const backend of routed) {
      const port = service.ports.find((candidate) => candidate.port === backend.port.number);
      const served = container.ports.find((candidate) => candidate.name === port?.targetPort);
      expect(served?.containerPort).toBe(Number(container.env?.find((variable) => variable.name === 'PORT')?.value));
      expect(policy.ingress.flatMap((rule) => rule.ports.map((entry) => entry.port))).toContain(served?.containerPort);
    }
    expect(routed.length).toBeGreaterThan(0);
  });

  describe.each(services)('%s', (name, deployment) => {
    const container = deployment.spec.template.spec.containers[0]!;
    const env = new Map((container.env ?? []).map((variable) => [variable.name, variable]));

    it('runs at least two replicas on the JetStream transport', () => {
      expect(deployment.spec.replicas).toBeGreaterThanOrEqual(2);
      expect(env.get('BUS_TRANSPORT')?.valueFrom?.configMapKeyRef?.key).toBe('BUS_TRANSPORT');
      expect(env.get('NATS_URL')?.valueFrom?.configMapKeyRef?.key).toBe('NATS_URL');
      expect(env.get('NATS_STREAM_REPLICAS')?.valueFrom?.configMapKeyRef?.key).toBe('NATS_STREAM_REPLICAS');
    });

    it('mounts its own credential and no other', () => {
      const mount = container.volumeMounts?.find(
        (candidate) => candidate.mountPath === env.get('CREDENTIALS_DIR')?.value,
      );
      const volume = deployment.spec.template.spec.volumes?.find((candidate) => candidate.name === mount?.name);

      expect(mount?.readOnly).toBe(true);
      expect(volume?.secret?.secretName).toBe('mini-blog-credentials');
      expect(volume?.secret?.items?.map((item) => item.key)).toEqual([name]);
    });

    it('gives each replica a projection of its own, on a writable volume at DATA_DIR', () => {
      const reduced = workloadsOf([deployment]);

      expect(projectionStorage(reduced[0]!).volume).toBe(deployment.kind === 'StatefulSet' ? 'claim' : 'emptyDir');
    });

    it('names each replica after its pod (REPLICA_ID: its projection file, and its replica slot claim)', () => {
      expect(env.get('REPLICA_ID')?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.name');
    });

    it('may be drained one pod at a time', () => {
      expect((find(objects, 'PodDisruptionBudget', name)?.spec as { minAvailable: number }).minAvailable).toBe(1);
    });
  });

  it('points the services at the cluster through the nats Service, with three copies of the stream', () => {
    const data = find(objects, 'ConfigMap', 'mini-blog-config')!.data!;
    const client = find(objects, 'Service', 'nats')!.spec as { ports: { port: number }[] };

    expect(data).toMatchObject({
      BUS_TRANSPORT: 'jetstream',
      NATS_URL: `nats://nats:${client.ports[0]!.port}`,
      NATS_STREAM_REPLICAS: '3',
    });
  });

  describe('the NATS cluster', () => {
    const nats = workload('StatefulSet', 'nats')!;
    const container = nats.spec.template.spec.containers[0]!;

    it('runs three nodes of the official image, pinned, each with its store on its own volume', () => {
      expect(nats.spec.replicas).toBe(3);
      expect(container.image).toMatch(/^nats:\d+\.\d+\.\d+-alpine$/);
      expect(nats.spec.volumeClaimTemplates?.map((claim) => claim.metadata.name)).toEqual(['data']);
      expect(container.volumeMounts?.find((mount) => mount.name === 'data')?.mountPath).toBe(
        (natsConfig(objects).json.jetstream as { store_dir: string }).store_dir,
      );
    });

    it('routes each node to all three through the headless Service, each route with the route credential', () => {
      const headless = find(objects, 'Service', 'nats-headless')!.spec as {
        clusterIP: string;
        publishNotReadyAddresses: boolean;
      };
      const cluster = natsConfig(objects).json.cluster as { routes?: string[]; authorization: unknown };
      const args = container.args ?? [];
      const env = new Map((container.env ?? []).map((variable) => [variable.name, variable]));

      expect(nats.spec.serviceName).toBe('nats-headless');
      expect(headless).toMatchObject({ clusterIP: 'None', publishNotReadyAddresses: true });
      expect(cluster.routes).toBeUndefined();
      expect(args[args.indexOf('--routes') + 1]?.split(',')).toEqual(
        [0, 1, 2].map((index) => `nats-route://route:$(ROUTE_PASSWORD)@nats-${index}.nats-headless:6222`),
      );
      // A node accepts a route only from a server that presents the same credential.
      expect(cluster.authorization).toEqual({ user: 'route', password: '$ROUTE_PASSWORD', timeout: 2 });
      expect(env.get('ROUTE_PASSWORD')?.valueFrom?.secretKeyRef).toEqual({
        name: 'mini-blog-credentials',
        key: 'nats-route',
      });
    });

    it('probes JetStream health on the monitoring port', () => {
      expect(container.startupProbe?.httpGet.path).toBe('/healthz');
      expect(container.readinessProbe?.httpGet.path).toBe('/healthz?js-server-only=true');
      expect(container.livenessProbe?.httpGet.path).toBe('/healthz?js-enabled-only=true');
    });

    it('loses at most one node to a voluntary disruption', () => {
      expect((find(objects, 'PodDisruptionBudget', 'nats')?.spec as { maxUnavailable: number }).maxUnavailable).toBe(1);
    });

    it("gives every principal a user with the registry's publish permissions and its password from the Secret", () => {
      const { json } = natsConfig(objects);
      const users = (json.accounts as { BLOG: { users: { user: string; password: string; permissions: unknown }[] } })
        .BLOG.users;
      const env = new Map((container.env ?? []).map((variable) => [variable.name, variable]));

      expect(users.map((user) => user.user)).toEqual(natsPrincipals());
      for (const user of users) {
        expect(user.permissions).toEqual(natsPermissions(user.user as Parameters<typeof natsPermissions>[0]));
        const variable = env.get(user.password.slice(1));
        expect(variable?.valueFrom?.secretKeyRef).toEqual({ name: 'mini-blog-credentials', key: user.user });
      }
    });

    it('lets only the services and the views reach the client port, and only the nodes the route port', () => {
      const policy = find(objects, 'NetworkPolicy', 'nats')!.spec as {
        ingress: {
          from: { podSelector: { matchExpressions?: { values: string[] }[]; matchLabels?: Record<string, string> } }[];
          ports: { port: number }[];
        }[];
      };

      expect(policy.ingress.map((rule) => rule.ports.map((port) => port.port))).toEqual([[4222], [6222]]);
      expect(policy.ingress[0]!.from[0]!.podSelector.matchExpressions?.[0]?.values.sort()).toEqual(
        [...SUBSCRIBER_NAMES, 'event-views'].sort(),
      );
      expect(policy.ingress[1]!.from[0]!.podSelector.matchLabels).toEqual({ 'app.kubernetes.io/name': 'nats' });
    });

    it('under the default deny, lets the nodes open DNS and the route port, and the services and the views DNS and the client port', () => {
      type Egress = {
        egress: { to: { podSelector: { matchLabels?: Record<string, string> } }[]; ports: { port: number }[] }[];
      };
      const opened = (spec: Egress) => spec.egress.map((rule) => rule.ports.map((port) => port.port));
      const nats = find(objects, 'NetworkPolicy', 'nats')!.spec as Egress & { policyTypes: string[] };
      const clients = find(objects, 'NetworkPolicy', 'nats-clients')!.spec as Egress & {
        podSelector: { matchExpressions: { values: string[] }[] };
      };

      expect(nats.policyTypes).toEqual(['Ingress', 'Egress']);
      expect(opened(nats)).toEqual([[53, 53], [6222]]);
      expect(opened(clients)).toEqual([[53, 53], [4222]]);
      expect(clients.podSelector.matchExpressions[0]!.values.sort()).toEqual(
        [...SUBSCRIBER_NAMES, 'event-views'].sort(),
      );
      expect(find(objects, 'NetworkPolicy', 'default-deny')).toBeDefined();
    });

    const natsServer = ['/usr/sbin/nats-server', '/usr/bin/nats-server'].find(
      (file) => spawnSync(file, ['--version']).status === 0,
    );
    (natsServer ? it : it.skip)('is a configuration nats-server accepts', () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'mini-blog-nats-conf-'));
      try {
        const file = path.join(dir, 'nats.conf');
        writeFileSync(
          file,
          natsConfig(objects)
            .text.replace('"/data"', JSON.stringify(path.join(dir, 'data')))
            .replace('/var/run/nats/nats.pid', path.join(dir, 'nats.pid')),
        );
        const env = Object.fromEntries(
          [
            ...natsPrincipals().map((principal) => `${principal.toUpperCase()}_PASSWORD`),
            'ROUTE_PASSWORD',
            'SERVER_NAME',
          ].map((name) => [name, 'x'.repeat(43)]),
        );
        const result = spawnSync(natsServer!, ['-t', '-c', file], {
          env: { ...process.env, ...env },
          encoding: 'utf8',
        });

        expect(`${result.stdout}${result.stderr}`).toMatch(/configuration file .* is valid/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});

describe('the skaffold profile jetstream', () => {
  it('deploys the dev variant of infra/k8s-jetstream with the default images', () => {
    const variants = skaffoldVariants(loadSkaffold());
    const jetstream = variants.find((variant) => variant.name === 'jetstream');

    expect(jetstream?.manifests.kustomize?.paths).toEqual(['infra/k8s-jetstream/dev']);
    expect(jetstream?.build).toEqual(variants.find((variant) => variant.name === 'default')?.build);
  });
});
