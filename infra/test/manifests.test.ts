import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import {
  deliveredTypes,
  publishAclSetting,
  PUBLISHER_NAMES,
  SERVICE_NAMES,
  SERVICES,
  SUBSCRIBER_NAMES,
  type ServiceName,
} from '@mini-blog/common/registry';
import { parse } from 'yaml';
import { loadServerConfig } from '../../client/server/config';
import { loadBusConfig } from '../../event-bus/src/config';
import { SOURCES_VOLUME } from '../src/generate/dev-overlay';
import { eventServices, profileOf } from '../src/generate/services';
import { schemaErrors, unknownFieldErrors } from './support/kubernetes-schemas';
import { hasKubectl, kubectlKustomize } from './support/kustomize';
import {
  K8S,
  K8S_DEV,
  loadKustomization,
  loadSkaffold,
  projectionStorage,
  readText,
  ROOT,
  selects,
  servicesOf,
  workloadsOf,
  workspaceOf,
  type Container,
  type EnvVar,
  type K8sObject,
  type PodSpec,
  type Workload,
} from './support/repository';

const objects = loadKustomization(K8S);
const workloads = workloadsOf(objects);
const services = servicesOf(objects);
const configMaps = objects.filter((object) => object.kind === 'ConfigMap');
const ingresses = objects.filter((object) => object.kind === 'Ingress');
const named = (kind: string, name: string) =>
  objects.find((object) => object.kind === kind && object.metadata.name === name);
const containers = workloads.flatMap((workload) =>
  workload.pod.containers.map((container) => [`${workload.kind} ${workload.name}`, container] as const),
);

/** Each process's port, from the registry (common/src/registry.ts). */
const PORTS: Record<string, number> = Object.fromEntries(SERVICE_NAMES.map((name) => [name, SERVICES[name].port]));

type ConfigLoader = (env: NodeJS.ProcessEnv) => { PORT: number };

/**
 * Each workload's own config loader: the env a pod gets must pass it, or the pod exits at start.
 * Every event-driven service has one as `readConfig` in its `src/config.ts` (the layout of
 * docs/architecture.md); the bus and the client have theirs.
 */
const CONFIG_LOADERS: Record<string, ConfigLoader> = {
  ...Object.fromEntries(
    eventServices().map((name) => {
      const module = jest.requireActual<{ readConfig?: ConfigLoader }>(path.join(ROOT, name, 'src', 'config'));
      if (!module.readConfig) throw new Error(`${name}/src/config.ts: exports no readConfig`);
      return [name, module.readConfig];
    }),
  ),
  'event-bus': loadBusConfig,
  client: loadServerConfig,
};

function envOf(container: Container): Record<string, string> {
  return Object.fromEntries(
    (container.env ?? []).flatMap((variable: EnvVar) => {
      const value = valueOf(variable);
      return value === undefined ? [] : [[variable.name, value]];
    }),
  );
}

function valueOf(variable: EnvVar): string | undefined {
  const ref = variable.valueFrom?.configMapKeyRef;
  if (!ref) return variable.value ?? '';
  const value = configMaps.find((configMap) => configMap.metadata.name === ref.name)?.data?.[ref.key];
  // An optional key (one a component adds, such as the tracing component's collector) may be absent: the variable is then unset.
  if (value === undefined && !ref.optional)
    throw new Error(`${variable.name}: ConfigMap ${ref.name} has no key ${ref.key}`);
  return value;
}

const keyOf = (object: K8sObject) => `${object.kind}/${object.metadata.name}`;

/** An object without what the dev overlay changes in a workload: the memory limit, the init container, the sources' volume and its mounts. */
function withoutDevChanges(object: K8sObject): K8sObject {
  const copy = structuredClone(object);
  const pod = (copy.spec?.template as { spec?: PodSpec } | undefined)?.spec;
  if (!pod) return copy;
  delete pod.initContainers;
  pod.volumes = pod.volumes?.filter((volume) => volume.name !== SOURCES_VOLUME);
  if (pod.volumes?.length === 0) delete pod.volumes;
  for (const container of pod.containers) {
    container.volumeMounts = container.volumeMounts?.filter((mount) => mount.name !== SOURCES_VOLUME);
    if (container.volumeMounts?.length === 0) delete container.volumeMounts;
    delete container.resources?.limits?.memory;
  }
  return copy;
}
const byKey = (list: readonly K8sObject[]) => Object.fromEntries(list.map((object) => [keyOf(object), object]));

describe('infra/k8s', () => {
  it('lists every manifest file of the folder in kustomization.yaml', () => {
    const files = readdirSync(K8S).filter((name) => /\.ya?ml$/.test(name) && name !== 'kustomization.yaml');
    const listed = (
      parse(readFileSync(path.join(K8S, 'kustomization.yaml'), 'utf8')) as { resources: string[] }
    ).resources.sort();

    expect(listed).toEqual(files.sort());
  });

  it.each(objects.map((object) => [keyOf(object), object] as const))(
    '%s is valid against the Kubernetes API schema',
    (_key, object) => {
      expect(schemaErrors(object)).toEqual([]);
    },
  );

  it('has no unknown or misplaced field, which the API server would refuse', () => {
    expect(unknownFieldErrors(objects)).toEqual([]);
  });

  it('catches a misspelt field, so the check above is not vacuous', () => {
    const deployment = named('Deployment', 'posts') as K8sObject;
    const misspelt = { ...deployment, spec: { ...deployment.spec, replica: 2 } };

    expect(unknownFieldErrors([misspelt]).join('\n')).toMatch(/replica/);
  });

  (hasKubectl ? it : it.skip)('renders with kubectl kustomize to exactly these objects', () => {
    expect(byKey(kubectlKustomize(K8S))).toEqual(byKey(objects));
  });

  (hasKubectl ? it : it.skip)(
    'renders the dev overlay: the same objects, each workload with more memory for the watchers and its synced folders on a volume seeded from the image',
    () => {
      const dev = kubectlKustomize(K8S_DEV);

      expect(Object.keys(byKey(dev)).sort()).toEqual(Object.keys(byKey(objects)).sort());
      for (const workload of workloadsOf(dev)) {
        const [container] = workload.pod.containers;
        expect(container?.resources?.limits?.memory).toBe('1Gi');
        expect(container?.securityContext?.readOnlyRootFilesystem).toBe(true);
        expect(workload.pod.initContainers?.map((init) => init.name)).toEqual(['seed-sources']);
        expect(container?.volumeMounts?.filter((mount) => mount.name === SOURCES_VOLUME).length).toBeGreaterThan(0);
      }
      for (const object of dev)
        expect(withoutDevChanges(object)).toEqual(withoutDevChanges(byKey(objects)[keyOf(object)] as K8sObject));
    },
  );

  it('labels every object with the recommended app.kubernetes.io labels', () => {
    for (const object of objects) {
      expect(object.metadata.labels).toMatchObject({ 'app.kubernetes.io/part-of': 'mini-blog' });
      expect(object.metadata.labels?.['app.kubernetes.io/name']).toBeTruthy();
      expect(object.metadata.labels?.['app.kubernetes.io/component']).toBeTruthy();
    }
    for (const workload of workloads) {
      const selector = named(workload.kind, workload.name)?.spec?.selector as { matchLabels: Record<string, string> };
      expect(selects(selector.matchLabels, workload.podLabels)).toBe(true);
      expect(workload.podLabels['app.kubernetes.io/name']).toBe(workload.name);
    }
  });
});

describe('workloads', () => {
  it('runs every process of the registry, and nothing else', () => {
    expect(workloads.map((workload) => workload.name).sort()).toEqual([...SERVICE_NAMES].sort());
  });

  it.each(containers)(
    '%s probes /readyz for readiness and /healthz for liveness on its port',
    (_workload, container) => {
      const port = container.ports?.[0];

      expect(container.readinessProbe?.httpGet?.path).toBe('/readyz');
      expect(container.livenessProbe?.httpGet?.path).toBe('/healthz');
      for (const probe of [container.readinessProbe, container.livenessProbe])
        expect([port?.name, port?.containerPort]).toContain(probe?.httpGet?.port);
    },
  );

  it.each(containers)('%s requests resources and is limited in memory', (_workload, container) => {
    expect(container.resources?.requests).toEqual({ cpu: expect.any(String), memory: expect.any(String) });
    expect(container.resources?.limits?.memory).toEqual(expect.any(String));
  });

  it.each(containers)('%s runs unprivileged, on a read-only root filesystem', (_workload, container) => {
    expect(container.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
  });

  it.each(workloads.map((workload) => [workload.name, workload] as const))(
    '%s runs as the image user (node, uid 1000) and shuts down within its grace period',
    (_name, workload) => {
      expect(workload.pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
      expect(workload.pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(15);
    },
  );

  it.each(workloads.map((workload) => [workload.name, workload] as const))(
    '%s gets an env that its own config schema accepts, on the port it exposes',
    (name, workload) => {
      const [container] = workload.pod.containers as [Container];
      const config = CONFIG_LOADERS[name]?.(envOf(container));

      expect(config?.PORT).toBe(container.ports?.[0]?.containerPort);
      expect(config?.PORT).toBe(PORTS[name]);
    },
  );

  it('reads every configMapKeyRef from a ConfigMap key that exists', () => {
    for (const [, container] of containers) expect(() => envOf(container)).not.toThrow();
  });
});

describe('the event bus', () => {
  const bus = named('StatefulSet', 'event-bus') as K8sObject;
  const spec = bus.spec as {
    replicas: number;
    volumeClaimTemplates: { metadata: { name: string } }[];
    template: { spec: { containers: Container[] } };
  };

  it('is one StatefulSet replica keeping its log on a claimed volume mounted at DATA_DIR', () => {
    const container = spec.template.spec.containers[0] as Container;
    const dataDir = envOf(container).DATA_DIR;

    expect(spec.replicas).toBe(1);
    expect(container.volumeMounts).toContainEqual({
      name: spec.volumeClaimTemplates[0]?.metadata.name,
      mountPath: dataDir,
    });
  });

  it('delivers to each subscriber of the registry exactly the types it needs live (deliveredTypes), in batches, at its Service', () => {
    const container = spec.template.spec.containers[0] as Container;
    const subscribers = loadBusConfig(envOf(container)).SUBSCRIBERS;

    expect(subscribers.map((subscriber) => subscriber.name).sort()).toEqual([...SUBSCRIBER_NAMES].sort());
    for (const subscriber of subscribers) {
      const name = subscriber.name as ServiceName;
      expect({
        name,
        url: subscriber.url,
        types: [...(subscriber.types ?? [])].sort(),
        batch: subscriber.batch,
      }).toEqual({
        name,
        url: `http://${name}-srv:${PORTS[name]}/events`,
        types: deliveredTypes(name).sort(),
        batch: true,
      });
    }
  });

  it("is reached by every service at its API port (the registry's), never at its views port", () => {
    const urls = containers.map(([, container]) => envOf(container).BUS_URL).filter((url) => url !== undefined);

    expect(urls.length).toBeGreaterThan(0);
    expect([...new Set(urls)]).toEqual([`http://event-bus-srv:${SERVICES['event-bus'].port}`]);
  });

  it("lets each publisher of the registry publish exactly the types it publishes (the ConfigMap's PUBLISH_ACL)", () => {
    const acl = configMaps.find((configMap) => configMap.metadata.name === 'mini-blog-config')?.data?.PUBLISH_ACL;

    expect(
      acl
        ?.split(',')
        .map((entry) => entry.trim())
        .join(','),
    ).toBe(publishAclSetting());
  });
});

describe("the services' projections", () => {
  const eventDriven = workloads.filter((workload) => (SUBSCRIBER_NAMES as string[]).includes(workload.name));
  const byName = eventDriven.map((workload) => [workload.name, workload] as const);

  /** The table of docs/kubernetes.md that says, per service, where its projection is kept and why. */
  function documented(): Record<string, { kind: string; volume: string }> {
    const section = readText('docs/kubernetes.md').split('### Where each service keeps its projection')[1] ?? '';
    const rows = [...section.matchAll(/^\| `([a-z-]+)` \| `(Deployment|StatefulSet)`, (a claim|an `emptyDir`)/gm)];
    return Object.fromEntries(
      rows.map(([, name, kind, volume]) => [
        name!,
        { kind: kind!, volume: volume === 'a claim' ? 'claim' : 'emptyDir' },
      ]),
    );
  }

  it('are kept by every event-driven service of the registry', () => {
    expect(eventDriven.map((workload) => workload.name).sort()).toEqual([...SUBSCRIBER_NAMES].sort());
  });

  it.each(byName)(
    '%s mounts a writable volume of its own pod at the folder DATA_DIR names: a claim of its StatefulSet, or an emptyDir of its Deployment',
    (_name, workload) => {
      const { dataDir, mount, volume } = projectionStorage(workload);

      expect(dataDir).toMatch(/^\//);
      expect(mount).toEqual({ name: mount?.name, mountPath: dataDir });
      expect([workload.kind, volume]).toEqual(
        workload.kind === 'StatefulSet' ? ['StatefulSet', 'claim'] : ['Deployment', 'emptyDir'],
      );
    },
  );

  it.each(byName)('%s takes that folder from DATA_DIR: its own config schema reads it', (name, workload) => {
    const [container] = workload.pod.containers as [Container];
    const config = CONFIG_LOADERS[name]?.(envOf(container)) as { DATA_DIR?: string } | undefined;

    expect(config?.DATA_DIR).toBe(projectionStorage(workload).mount?.mountPath);
  });

  it.each(byName)(
    "%s has a writable /tmp for SQLite's temporary files, its root filesystem being read-only",
    (_name, workload) => {
      const [container] = workload.pod.containers as [Container];
      const mount = container.volumeMounts?.find((candidate) => candidate.mountPath === '/tmp');

      expect(mount?.readOnly).toBeUndefined();
      expect(workload.pod.volumes?.find((volume) => volume.name === mount?.name)?.emptyDir).toBeDefined();
    },
  );

  it.each(byName.filter(([, workload]) => workload.kind === 'StatefulSet'))(
    '%s: pods reached through its Service, and claims kept across a redeploy and a scale down',
    (name) => {
      const spec = named('StatefulSet', name)?.spec as {
        serviceName: string;
        persistentVolumeClaimRetentionPolicy: unknown;
        volumeClaimTemplates: { spec: { accessModes: string[]; resources: { requests: { storage: string } } } }[];
      };

      expect(spec.serviceName).toBe(`${name}-srv`);
      expect(spec.persistentVolumeClaimRetentionPolicy).toEqual({ whenDeleted: 'Retain', whenScaled: 'Retain' });
      expect(spec.volumeClaimTemplates.map((claim) => claim.spec.accessModes)).toEqual([['ReadWriteOnce']]);
    },
  );

  it.each(byName.filter(([, workload]) => workload.kind === 'Deployment'))(
    '%s: a rolling update starts the new pod, which rebuilds its emptyDir, before it stops the old one',
    (name) => {
      const strategy = (named('Deployment', name)?.spec as { strategy?: unknown }).strategy;

      expect(strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
    },
  );

  it('are where docs/kubernetes.md says, which gives the reason for each service', () => {
    const actual = Object.fromEntries(
      eventDriven.map((workload) => [
        workload.name,
        { kind: workload.kind, volume: projectionStorage(workload).volume },
      ]),
    );

    // A service the table does not name (a new one, as docs/recipes.md adds) is kept as the
    // generator's default, which the page names.
    const rows = documented();
    const defaultKept =
      /A service not in this table[^|]*?kept on `(Deployment|StatefulSet)`, (a claim|an `emptyDir`)/.exec(
        readText('docs/kubernetes.md'),
      );
    expect(defaultKept).not.toBeNull();
    const byDefault = { kind: defaultKept![1]!, volume: defaultKept![2] === 'a claim' ? 'claim' : 'emptyDir' };
    const generatorDefault = profileOf('a service without a profile' as ServiceName).storage;
    expect(byDefault).toEqual({
      kind: generatorDefault === 'claim' ? 'StatefulSet' : 'Deployment',
      volume: generatorDefault,
    });
    expect(Object.keys(rows).filter((name) => !(name in actual))).toEqual([]);
    expect(Object.fromEntries(Object.keys(actual).map((name) => [name, rows[name] ?? byDefault]))).toEqual(actual);
  });
});

/** The Secret the skaffold hook creates (infra/scripts/ensure-credentials.mjs), one key per principal. */
const CREDENTIALS_SECRET = 'mini-blog-credentials';
/** Who holds a credential: the registry's publishers and subscribers (what the bus reads), and the operator. */
const PRINCIPALS = [...new Set<string>([...PUBLISHER_NAMES, ...SUBSCRIBER_NAMES]), 'admin'];

describe('credentials', () => {
  /** The Secret's keys a workload can read: the items of its volume, every key when it lists none, and the folder CREDENTIALS_DIR names. */
  function credentialsOf(workload: Workload) {
    const [container] = workload.pod.containers as [Container];
    const volume = workload.pod.volumes?.find((candidate) => candidate.secret?.secretName === CREDENTIALS_SECRET);
    const mount = container.volumeMounts?.find((candidate) => candidate.name === volume?.name);
    return { dir: envOf(container).CREDENTIALS_DIR, mount, volume };
  }

  it.each(
    workloads
      .filter((workload) => PRINCIPALS.includes(workload.name))
      .map((workload) => [workload.name, workload] as const),
  )('%s reads only its own credential, from the Secret mounted read-only at CREDENTIALS_DIR', (name, workload) => {
    const { dir, mount, volume } = credentialsOf(workload);

    expect(mount).toEqual({ name: volume?.name, mountPath: dir, readOnly: true });
    expect(volume?.secret?.items).toEqual([{ key: name, path: name }]);
  });

  it.each(
    workloads
      .filter((workload) => (SUBSCRIBER_NAMES as readonly string[]).includes(workload.name))
      .map((workload) => [workload.name, workload] as const),
  )(
    "%s reads the digest of the admin's token for it (its admin routes), from the Secret ensure-credentials derives, never the admin's secret",
    (name, workload) => {
      const [container] = workload.pod.containers as [Container];
      const variable = container.env?.find((candidate) => candidate.name === 'ADMIN_TOKEN_SHA256');

      expect(variable?.valueFrom?.secretKeyRef).toEqual({
        name: 'mini-blog-admin-verifiers',
        key: name,
        optional: true,
      });
      expect((container.env ?? []).filter((candidate) => candidate.valueFrom?.secretKeyRef?.key === 'admin')).toEqual(
        [],
      );
    },
  );

  it("gives the bus every credential: it checks each principal's token and signs each subscriber's deliveries", () => {
    const { dir, mount, volume } = credentialsOf(workloads.find((workload) => workload.name === 'event-bus')!);

    expect(mount).toEqual({ name: volume?.name, mountPath: dir, readOnly: true });
    expect(volume?.secret?.items).toBeUndefined();
  });

  it('gives no credential to a process that is no principal', () => {
    for (const workload of workloads.filter(
      (candidate) => candidate.name !== 'event-bus' && !PRINCIPALS.includes(candidate.name),
    )) {
      expect({ workload: workload.name, ...credentialsOf(workload) }).toEqual({
        workload: workload.name,
        dir: undefined,
        mount: undefined,
        volume: undefined,
      });
    }
  });

  it.each(
    workloads
      .filter((workload) => credentialsOf(workload).volume)
      .map((workload) => [workload.name, workload] as const),
  )("%s: the credential files are readable by its user's group only", (_name, workload) => {
    expect(credentialsOf(workload).volume?.secret?.defaultMode).toBe(0o440);
    expect(workload.pod.securityContext?.fsGroup).toBe(workload.pod.securityContext?.runAsGroup);
  });
});

describe('network policies', () => {
  type Peer = {
    namespaceSelector?: { matchLabels?: Record<string, string> };
    podSelector?: { matchLabels?: Record<string, string>; matchExpressions?: { key: string; values: string[] }[] };
  };
  type Policy = {
    podSelector: { matchLabels: Record<string, string> };
    policyTypes: string[];
    ingress: { from: Peer[]; ports: { protocol: string; port: number }[] }[];
    egress?: { to: Peer[]; ports: { protocol: string; port: number }[] }[];
  };
  const allPolicies = objects
    .filter((object) => object.kind === 'NetworkPolicy')
    .map((object) => ({ name: object.metadata.name, spec: object.spec as Policy }));
  const policies = allPolicies.filter((policy) => policy.name !== 'default-deny');

  it('denies every connection in and out of every pod by default, so that a pod without a policy of its own is cut off', () => {
    const deny = allPolicies.find((policy) => policy.name === 'default-deny');

    expect(deny?.spec).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
  });

  /** What each workload should open: DNS; the bus's API when its env names the bus; each subscriber's port for the bus. */
  function expectedEgress(workload: Workload): string[] {
    const expected = ['kube-system/kube-dns UDP 53', 'kube-system/kube-dns TCP 53'];
    const env = envOf(workload.pod.containers[0]!);
    if ('BUS_URL' in env) expected.push(`event-bus TCP ${SERVICES['event-bus'].port}`);
    if (workload.name === 'event-bus')
      for (const subscriber of SUBSCRIBER_NAMES) expected.push(`${subscriber} TCP ${SERVICES[subscriber].port}`);
    return expected.sort();
  }

  it.each(workloads.map((workload) => [workload.name, workload] as const))(
    '%s opens exactly: DNS, the bus API if it is a bus client, the subscribers if it is the bus',
    (_name, workload) => {
      const policy = policies.find((candidate) => candidate.name === workload.name)!;
      const opened = (policy.spec.egress ?? []).flatMap((rule) =>
        rule.to.flatMap((peer) => {
          const namespace = peer.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'];
          const names =
            namespace === 'kube-system' && peer.podSelector?.matchLabels?.['k8s-app'] === 'kube-dns'
              ? ['kube-system/kube-dns']
              : peerNames(peer);
          return names.flatMap((name) => rule.ports.map(({ protocol, port }) => `${name} ${protocol} ${port}`));
        }),
      );

      expect(opened.sort()).toEqual(expectedEgress(workload));
    },
  );
  const INGRESS_CONTROLLER = 'ingress-nginx';

  /** A peer as a name: the ingress controller's pods in its namespace, or the workloads a pod selector picks. */
  function peerNames(peer: Peer): string[] {
    const namespace = peer.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'];
    if (namespace !== undefined)
      return [
        namespace === INGRESS_CONTROLLER &&
        peer.podSelector?.matchLabels?.['app.kubernetes.io/name'] === INGRESS_CONTROLLER
          ? INGRESS_CONTROLLER
          : `namespace ${namespace}`,
      ];
    return workloads.filter((workload) => selectsPeer(peer, workload.podLabels)).map((workload) => workload.name);
  }

  function selectsPeer(peer: Peer, labels: Record<string, string>): boolean {
    const selector = peer.podSelector ?? {};
    return (
      selects(selector.matchLabels ?? {}, labels) &&
      (selector.matchExpressions ?? []).every(({ key, values }) => values.includes(labels[key] ?? ''))
    );
  }

  /** What should reach each port of a workload, derived from the Ingress, the registry and the env. */
  function expectedPeers(workload: Workload): Record<number, string[]> {
    const name = workload.name as ServiceName;
    const expected: Record<number, Set<string>> = {};
    const allow = (port: number, peer: string) => (expected[port] ??= new Set()).add(peer);
    for (const backend of ingressBackends())
      if (backend.name === `${name}-srv`) allow(backend.port.number, INGRESS_CONTROLLER);
    if ((SUBSCRIBER_NAMES as string[]).includes(name)) allow(SERVICES[name].port, 'event-bus');
    if (name === 'event-bus')
      for (const client of workloads.filter((candidate) => 'BUS_URL' in envOf(candidate.pod.containers[0]!)))
        allow(SERVICES[name].port, client.name);
    return Object.fromEntries(Object.entries(expected).map(([port, peers]) => [port, [...peers].sort()]));
  }

  it('has one policy per workload, selecting its pods, for incoming traffic', () => {
    expect(policies.map((policy) => policy.name).sort()).toEqual(workloads.map((workload) => workload.name).sort());
    for (const workload of workloads) {
      const policy = policies.find((candidate) => candidate.name === workload.name)!;
      expect(selects(policy.spec.podSelector.matchLabels, workload.podLabels)).toBe(true);
      expect(
        workloads.filter(
          (other) => other !== workload && selects(policy.spec.podSelector.matchLabels, other.podLabels),
        ),
      ).toEqual([]);
      expect(policy.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    }
  });

  it.each(workloads.map((workload) => [workload.name, workload] as const))(
    "%s accepts on each port exactly who needs it: the ingress controller where the Ingress routes, the bus on a delivery endpoint, the services on the bus's API",
    (_name, workload) => {
      const policy = policies.find((candidate) => candidate.name === workload.name)!;
      const allowed: Record<number, Set<string>> = {};
      for (const rule of policy.spec.ingress) {
        for (const { port, protocol } of rule.ports) {
          expect(protocol).toBe('TCP');
          for (const peer of rule.from.flatMap(peerNames)) (allowed[port] ??= new Set()).add(peer);
        }
      }

      expect(Object.fromEntries(Object.entries(allowed).map(([port, peers]) => [port, [...peers].sort()]))).toEqual(
        expectedPeers(workload),
      );
    },
  );

  it("lets the ingress controller reach the bus's views and never its API port", () => {
    const bus = expectedPeers(workloads.find((workload) => workload.name === 'event-bus')!);

    expect(bus[SERVICES['event-bus'].viewsPort!]).toEqual([INGRESS_CONTROLLER]);
    expect(bus[SERVICES['event-bus'].port]).not.toContain(INGRESS_CONTROLLER);
  });
});

describe('cross-checks', () => {
  it('exposes every workload as the ClusterIP Service <name>-srv on its port', () => {
    for (const workload of workloads) {
      const service = services.find((candidate) => selects(candidate.selector, workload.podLabels));
      expect(service?.name).toBe(`${workload.name}-srv`);
      const { port, viewsPort } = SERVICES[workload.name as ServiceName] as { port: number; viewsPort?: number };
      expect(service?.ports.map((servicePort) => servicePort.port)).toEqual(
        viewsPort === undefined ? [port] : [port, viewsPort],
      );
      expect((named('Service', `${workload.name}-srv`)?.spec as { type: string }).type).toBe('ClusterIP');
    }
  });

  it('sends every Service port to a container port of the pods it selects, on the same number', () => {
    for (const service of services) {
      const selected = workloads.filter((workload) => selects(service.selector, workload.podLabels));
      expect(selected.length).toBeGreaterThan(0);
      for (const port of service.ports) {
        for (const workload of selected) {
          const target = workload.pod.containers
            .flatMap((container) => container.ports ?? [])
            .find((candidate) => candidate.name === port.targetPort || candidate.containerPort === port.targetPort);
          expect({ service: service.name, targetPort: target?.containerPort }).toEqual({
            service: service.name,
            targetPort: port.port,
          });
        }
      }
    }
  });

  it('names an existing Service and one of its ports in every URL of the env and the ConfigMaps', () => {
    const values = [
      ...containers.flatMap(([, container]) => Object.values(envOf(container))),
      ...configMaps.flatMap((configMap) => Object.values(configMap.data ?? {})),
    ];
    const urls = values.flatMap((value) =>
      [...value.matchAll(/https?:\/\/([\w.-]+):(\d+)/g)].map(([url, host, port]) => ({
        url,
        host,
        port: Number(port),
      })),
    );

    expect(urls.length).toBeGreaterThan(0);
    for (const { url, host, port } of urls) {
      const service = services.find((candidate) => candidate.name === host);
      expect({ url, ports: service?.ports.map((candidate) => candidate.port) }).toEqual({
        url,
        ports: expect.arrayContaining([port]),
      });
    }
  });

  it('sends every ingress backend to an existing Service on one of its ports', () => {
    for (const backend of ingressBackends()) {
      const service = services.find((candidate) => candidate.name === backend.name);
      expect({ backend: backend.name, ports: service?.ports.map((port) => port.port) }).toEqual({
        backend: backend.name,
        ports: expect.arrayContaining([backend.port.number]),
      });
    }
  });

  it.each(workloads.map((workload) => [workload.name, workload] as const))(
    '%s serves its probe paths: the route is in its code or in common',
    (_name, workload: Workload) => {
      const workspace = imageWorkspaces()[workload.pod.containers[0]?.image ?? ''] ?? '';
      const code = sourceFiles(workspace).map((file) => readFileSync(file, 'utf8'));
      const probePaths = workload.pod.containers.flatMap((container) =>
        [container.readinessProbe, container.livenessProbe].map((probe) => probe?.httpGet?.path),
      );

      for (const probePath of probePaths)
        expect({ probePath, served: code.some((text) => new RegExp(`['"\`]${probePath}['"\`]`).test(text)) }).toEqual({
          probePath,
          served: true,
        });
    },
  );
});

describe('the ingress', () => {
  it.each(ingresses.map((ingress) => [ingress.metadata.name, ingress] as const))(
    '%s is an nginx Ingress for posts.com with regex paths',
    (_name, ingress) => {
      const spec = ingress.spec as {
        ingressClassName: string;
        rules: { host: string; http: { paths: { pathType: string }[] } }[];
      };

      expect(ingress.apiVersion).toBe('networking.k8s.io/v1');
      expect(ingress.metadata.annotations?.['nginx.ingress.kubernetes.io/use-regex']).toBe('true');
      expect(spec.ingressClassName).toBe('nginx');
      for (const rule of spec.rules) {
        expect(rule.host).toBe('posts.com');
        for (const entry of rule.http.paths) expect(entry.pathType).toBe('ImplementationSpecific');
      }
    },
  );

  it('passes server-sent events through unbuffered, with a read timeout of an hour', () => {
    const annotations = named('Ingress', 'ingress-srv-stream')?.metadata.annotations ?? {};

    expect(annotations['nginx.ingress.kubernetes.io/proxy-buffering']).toBe('off');
    expect(Number(annotations['nginx.ingress.kubernetes.io/proxy-read-timeout'])).toBeGreaterThanOrEqual(3600);
  });
});

/** The Service and port of every path of every Ingress. */
function ingressBackends(): { name: string; port: { number: number } }[] {
  return ingresses.flatMap((ingress) =>
    (
      ingress.spec as {
        rules: { http: { paths: { backend: { service: { name: string; port: { number: number } } } }[] } }[];
      }
    ).rules.flatMap((rule) => rule.http.paths.map((entry) => entry.backend.service)),
  );
}

/** Image → the workspace folder it is built from, per skaffold.yaml. */
function imageWorkspaces(): Record<string, string> {
  return Object.fromEntries(loadSkaffold().build.artifacts.map((artifact) => [artifact.image, workspaceOf(artifact)]));
}

/** The TypeScript a workspace runs: its own (src/, and server/ for the client) and common's when it depends on it. */
function sourceFiles(workspace: string): string[] {
  const manifest = JSON.parse(readFileSync(path.join(ROOT, workspace, 'package.json'), 'utf8')) as {
    dependencies?: Record<string, string>;
  };
  const dirs = [
    `${workspace}/src`,
    `${workspace}/server`,
    ...(manifest.dependencies?.['@mini-blog/common'] ? ['common/src'] : []),
  ];
  return dirs.flatMap((dir) => listTypeScript(path.join(ROOT, dir)));
}

function listTypeScript(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((entry) => {
    const file = path.join(dir, entry);
    if (statSync(file).isDirectory()) return listTypeScript(file);
    return /\.tsx?$/.test(entry) ? [file] : [];
  });
}
