import path from 'node:path';
import { readCredential } from '@mini-blog/common/auth';
import { SERVICE_NAMES, SERVICES, type ServiceName } from '@mini-blog/common/registry';
import { withPort, type Where } from './args';
import { BlogctlError, reason } from './http';
import { kubectlGet, portForward, type KubectlTarget, type PortForward } from './kubectl';
import { findLocal, locateRun, PARTS, type Located } from './local-run';
import { isReady, servicePods, type Pod, type SkippedPod } from './pods';

/** One process of the system, and whether it says it is ready. */
export interface Readiness {
  /** A process of the registry, or another the manifests run (nats, event-views). */
  readonly name: string;
  readonly ready: boolean;
  /** `ready`, or why not: `HTTP 503`, `connection refused`, `1/2 pods ready`, `no pod`. */
  readonly detail: string;
}

/**
 * One process of a service with a projection of its own: a pod on a cluster (each replica has its
 * own), the service's one process on a local run.
 */
export interface Replica {
  /** The pod's name; undefined on a local run. */
  readonly pod: string | undefined;
  /** Its Ready condition on a cluster (an unready pod is reached only when `--pod` names it). */
  readonly ready: boolean;
  /** Where its own routes answer (on a cluster, a port-forward to the pod) until `close`. */
  connect(): Promise<{ readonly url: URL; close(): Promise<void> }>;
}

/** Where the bus and the services answer, and the admin credential, for a local run or a cluster. */
export interface Target {
  /** The bus's main port: the admin routes. */
  busUrl(): Promise<URL>;
  /** The bus's read-only views: /subscriptions, /flow, /flow/stream. */
  viewsUrl(): Promise<URL>;
  /**
   * The processes of a service, each with its own admin routes (a rebuild): on a cluster every
   * ready pod behind its Service, or only the pod `pod` names; locally its one process.
   */
  replicas(
    name: ServiceName,
    pod: string | undefined,
  ): Promise<{ readonly chosen: readonly Replica[]; readonly skipped: readonly SkippedPod[] }>;
  /** The admin credential, read only when an admin route needs it. */
  adminToken(): string;
  readiness(): Promise<Readiness[]>;
  close(): Promise<void>;
}

/** The Secret `ensure-credentials` creates, one key per principal. */
export const CREDENTIALS_SECRET = 'mini-blog-credentials';
const BUS_SERVICE = 'service/event-bus-srv';
const BUS_PORT = 4005;
const PART_OF = 'app.kubernetes.io/part-of=mini-blog';

export async function openTarget(where: Where, viewsPort: number, env: NodeJS.ProcessEnv): Promise<Target> {
  return where.kind === 'local'
    ? localTarget(where, viewsPort)
    : clusterTarget({ namespace: where.namespace, context: where.context, env }, viewsPort);
}

function localTarget(where: Extract<Where, { kind: 'local' }>, viewsPort: number): Target {
  let views: Promise<URL> | undefined;
  let located: Promise<Located> | undefined;
  const locate = () => (located ??= locateRun(where.busUrl, where.dataDir));
  /** --service's URL, else the launcher's file's, else the registry's port on --url's host. */
  const serviceUrl = async (name: ServiceName): Promise<URL> => {
    const given = where.serviceUrls[name];
    if (given) return given;
    const { run } = await locate();
    return run ? new URL(run.services[name]) : withPort(where.busUrl, SERVICES[name].port);
  };
  return {
    busUrl: async () => where.busUrl,
    viewsUrl: () =>
      // --views-url, else --url itself where it serves them (the views process of a JetStream run listens
      // where the bus would; the gateway routes `/subscriptions` to them), else where the
      // launcher's file says, else beside the HTTP bus on their own port.
      (views ??= where.viewsUrl
        ? Promise.resolve(where.viewsUrl)
        : findLocal(where.busUrl, locate, PARTS.views, viewsPort)),
    replicas: async (name) => ({
      chosen: [
        {
          pod: undefined,
          ready: true,
          connect: async () => ({ url: await serviceUrl(name), close: async () => {} }),
        },
      ],
      skipped: [],
    }),
    adminToken: () => {
      try {
        return readCredential(path.join(where.dataDir, 'credentials'), 'admin')[0] as string;
      } catch (err) {
        throw new BlogctlError(
          `the admin credential: ${(err as Error).message.replace(/^credential /, '')} (or pass --data-dir)`,
        );
      }
    },
    readiness: () => Promise.all(SERVICE_NAMES.map(async (name) => probe(name, await serviceUrl(name)))),
    close: async () => {},
  };
}

async function probe(name: ServiceName, base: URL): Promise<Readiness> {
  try {
    const res = await fetch(new URL('/readyz', base), { signal: AbortSignal.timeout(3000) });
    await res.body?.cancel();
    return { name, ready: res.ok, detail: res.ok ? 'ready' : `HTTP ${res.status}` };
  } catch (err) {
    return { name, ready: false, detail: reason(err) };
  }
}

/**
 * A cluster through kubectl: each of the bus's ports forwarded to a free local port when a command
 * first needs it (on the JetStream transport event-bus-srv has only the views port), the admin
 * credential from the Secret, readiness from the pods' Ready condition (what the probes on /readyz
 * decide).
 */
async function clusterTarget(kube: KubectlTarget, viewsPort: number): Promise<Target> {
  const forwards = new Map<string, Promise<PortForward>>();
  const forwarded = async (resource: string, port: number, hint = '') => {
    let forward = forwards.get(`${resource}:${port}`);
    if (!forward) {
      forward = portForward(kube, resource, [port]);
      forwards.set(`${resource}:${port}`, forward);
    }
    try {
      return new URL(`http://127.0.0.1:${(await forward).ports[port]}`);
    } catch (err) {
      throw new BlogctlError(`${(err as Error).message}${hint}`);
    }
  };
  return {
    busUrl: () => forwarded(BUS_SERVICE, BUS_PORT, ' (on the JetStream transport there is no bus, and no admin API)'),
    viewsUrl: () => forwarded(BUS_SERVICE, viewsPort),
    // Each pod on its own: a forward to the Service would reach one of them, and each has its own projection.
    replicas: async (name, only) => {
      const { chosen, skipped } = servicePods(kube, name, only);
      return {
        chosen: chosen.map(({ pod, ready }) => ({
          pod,
          ready,
          connect: async () => {
            const port = SERVICES[name].port;
            const forward = await portForward(kube, `pod/${pod}`, [port]);
            return { url: new URL(`http://127.0.0.1:${forward.ports[port]}`), close: () => forward.close() };
          },
        })),
        skipped,
      };
    },
    adminToken: () => adminFromSecret(kube),
    readiness: async () => podReadiness(kube),
    close: async () => {
      await Promise.all(
        [...forwards.values()].map((forward) =>
          forward.then(
            (open) => open.close(),
            () => undefined,
          ),
        ),
      );
    },
  };
}

function adminFromSecret(kube: KubectlTarget): string {
  const secret = kubectlGet(kube, ['secret', CREDENTIALS_SECRET, '--ignore-not-found']) as
    { data?: Record<string, string> } | undefined;
  if (!secret?.data)
    throw new BlogctlError(
      `no Secret ${CREDENTIALS_SECRET} here: deploy first (skaffold creates it), or pick the namespace with -n`,
    );
  const encoded = secret.data.admin;
  if (!encoded) throw new BlogctlError(`the Secret ${CREDENTIALS_SECRET} has no key admin`);
  const [token] = Buffer.from(encoded, 'base64')
    .toString('utf8')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter(Boolean);
  if (!token) throw new BlogctlError(`the Secret ${CREDENTIALS_SECRET}: its key admin is empty`);
  return token;
}

function podReadiness(kube: KubectlTarget): Readiness[] {
  const pods = (kubectlGet(kube, ['pods', '-l', PART_OF]) as { items: Pod[] }).items;
  // The registry's processes, and whatever else the manifests run (NATS and the views process on JetStream).
  const found = pods
    .map((pod) => pod.metadata.labels?.['app.kubernetes.io/name'])
    .filter((name): name is string => name !== undefined);
  return [...new Set<string>([...SERVICE_NAMES, ...found])].map((name) => {
    const own = pods.filter((pod) => pod.metadata.labels?.['app.kubernetes.io/name'] === name);
    const ready = own.filter(isReady).length;
    if (own.length === 0) return { name, ready: false, detail: 'no pod' };
    return { name, ready: ready > 0, detail: ready === own.length ? 'ready' : `${ready}/${own.length} pods ready` };
  });
}
