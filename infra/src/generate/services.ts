import { SERVICE_NAMES, SERVICES, type ServiceEntry, type ServiceName } from '@mini-blog/common/registry';
import { k8sService, labels } from './names';
import { flow, noted, trailing, wrap, type YamlDocument } from './yaml-file';

/** The ConfigMap every service reads its shared settings from (config.yaml). */
export const CONFIG_MAP = 'mini-blog-config';
/** The Secret with one key per principal (created by infra/scripts/ensure-credentials.mjs). */
export const CREDENTIALS_SECRET = 'mini-blog-credentials';
export const CREDENTIALS_DIR = '/etc/mini-blog/credentials';
/** The Secret of the services' digests of the admin's tokens (derived by infra/scripts/ensure-credentials.mjs). */
export const ADMIN_VERIFIERS_SECRET = 'mini-blog-admin-verifiers';

/**
 * How a service runs in the cluster, beyond what the registry says. A service that is not listed in
 * PROFILES gets DEFAULT_PROFILE: a new service needs nothing here.
 */
export interface DeploymentProfile {
  /** What it does, for the first line of its manifest. */
  readonly summary: string;
  /** What its projection holds, for the comment on where it is kept. */
  readonly projection: string;
  /**
   * `claim`: a StatefulSet with a volume claimed per pod, so that a restart, an update or a
   * reschedule reads only the events after its checkpoint. `emptyDir`: a Deployment whose new pod
   * rebuilds the projection from the log while the old one serves (for a projection that is quick to
   * rebuild).
   */
  readonly storage: 'claim' | 'emptyDir';
  readonly resources: { readonly cpu: string; readonly memory: string; readonly memoryLimit: string };
}

const DEFAULT_PROFILE: DeploymentProfile = {
  summary: 'an event-driven service',
  projection: 'its tables',
  storage: 'claim',
  resources: { cpu: '50m', memory: '96Mi', memoryLimit: '256Mi' },
};

const PROFILES: Partial<Record<ServiceName, Partial<DeploymentProfile>>> = {
  posts: {
    summary: 'POST /posts/create answers once PostCreated is in the log.',
    projection: 'every post, for GET /posts on its own port',
    storage: 'emptyDir',
  },
  comments: {
    summary: 'comments per post; reads the log up to its head before answering 404 for a new post.',
    projection: "the posts it knows, every comment with its status, each post's last keyed seq",
  },
  query: {
    summary: 'the read model (the course map, the feed, the live stream).',
    projection: 'every post and comment',
    resources: { cpu: '100m', memory: '128Mi', memoryLimit: '512Mi' },
  },
  moderation: {
    summary: 'no public route; it only reacts to CommentCreated.',
    projection: 'its checkpoint, and the verdicts still to publish',
  },
};

export function profileOf(name: ServiceName): DeploymentProfile {
  return { ...DEFAULT_PROFILE, ...PROFILES[name] };
}

/** A StatefulSet for a service whose projection is kept on a claim, else a Deployment. */
export const workloadKind = (name: ServiceName) => (profileOf(name).storage === 'claim' ? 'StatefulSet' : 'Deployment');

/**
 * The services whose manifests are generated: every event-driven one (it publishes or handles events).
 * The bus and the client are processes of their own kind, with hand-written manifests.
 */
export function eventServices(): ServiceName[] {
  return SERVICE_NAMES.filter((name) => {
    const entry: ServiceEntry = SERVICES[name];
    return entry.publishes.length > 0 || entry.handles.length > 0;
  });
}

/** `api` for a service with public routes, `worker` for one that only reacts to events. */
export function componentOf(name: ServiceName): string {
  return (SERVICES[name] as ServiceEntry).routes.length > 0 ? 'api' : 'worker';
}

/** A service's address inside the cluster: its Service and port. */
export const k8sServiceUrl = (name: ServiceName) =>
  `http://${k8sService(name)}:${(SERVICES[name] as ServiceEntry).port}`;

/** Every container of the system, the dev overlay's included: no privileges, a read-only root filesystem. */
export const CONTAINER_SECURITY = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: flow(['ALL']) },
};

const fromConfig = (key: string) => ({ name: key, valueFrom: { configMapKeyRef: { name: CONFIG_MAP, key } } });

function workload(name: ServiceName) {
  const entry: ServiceEntry = SERVICES[name];
  const profile = profileOf(name);
  const own = labels(name, componentOf(name));
  const claim = profile.storage === 'claim';
  const kindSpec = claim
    ? {
        serviceName: noted('Reached through its ClusterIP Service; no per-pod DNS name is needed.', k8sService(name)),
        revisionHistoryLimit: 3,
        podManagementPolicy: noted(
          'Replicas (two in the JetStream overlay) start together, not one after the other.',
          'Parallel',
        ),
        persistentVolumeClaimRetentionPolicy: noted(
          'A projection can always be rebuilt from the log, but a claim kept across a redeploy or a scale\ndown and up again spares that: the pod reads on from its checkpoint.',
          { whenDeleted: 'Retain', whenScaled: 'Retain' },
        ),
      }
    : {
        revisionHistoryLimit: 3,
        strategy: noted('The new pod rebuilds its projection while the old one serves: one more pod, never one less.', {
          type: 'RollingUpdate',
          rollingUpdate: { maxSurge: 1, maxUnavailable: 0 },
        }),
      };
  return {
    apiVersion: 'apps/v1',
    kind: workloadKind(name),
    metadata: { name, labels: own },
    spec: {
      replicas: 1,
      ...kindSpec,
      selector: { matchLabels: { 'app.kubernetes.io/name': name } },
      template: {
        metadata: { labels: own },
        spec: {
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          terminationGracePeriodSeconds: noted(
            'The service drains in-flight requests for up to 5 s after SIGTERM; preStop first gives the\nendpoints controller and the ingress time to stop sending new ones.',
            30,
          ),
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 1000,
            runAsGroup: 1000,
            fsGroup: noted(
              claim
                ? "The credential file is readable by its group only; fsGroup makes that group this user's, and\nthe claimed volume group-writable for it."
                : "The credential file is readable by its group only; fsGroup makes that group this user's.",
              1000,
            ),
            ...(claim ? { fsGroupChangePolicy: 'OnRootMismatch' } : {}),
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [
            {
              name,
              image: `mini-blog/${name}`,
              imagePullPolicy: 'IfNotPresent',
              ports: [{ name: 'http', containerPort: entry.port }],
              env: [
                { name: 'PORT', value: String(entry.port) },
                { name: 'CREDENTIALS_DIR', value: CREDENTIALS_DIR },
                { name: 'DATA_DIR', value: '/data' },
                noted(
                  "The digest of the admin's token for this service (its admin routes: a rebuild), never the\nadmin's secret; infra/scripts/ensure-credentials.mjs derives it. Without it nobody may.",
                  {
                    name: 'ADMIN_TOKEN_SHA256',
                    valueFrom: { secretKeyRef: { name: ADMIN_VERIFIERS_SECRET, key: name, optional: true } },
                  },
                ),
                fromConfig('BUS_URL'),
                fromConfig('LOG_LEVEL'),
                fromConfig('TRUSTED_PROXIES'),
                noted(
                  'Set by the tracing component (infra/k8s-tracing): spans go to its collector too. Left out, each\nservice keeps its recent spans in memory only (the trace view).',
                  {
                    name: 'OTEL_EXPORTER_OTLP_ENDPOINT',
                    valueFrom: {
                      configMapKeyRef: { name: CONFIG_MAP, key: 'OTEL_EXPORTER_OTLP_ENDPOINT', optional: true },
                    },
                  },
                ),
                ...Object.keys(entry.settings ?? {}).map(fromConfig),
              ],
              volumeMounts: [
                { name: 'credentials', mountPath: CREDENTIALS_DIR, readOnly: true },
                noted("The projection's SQLite file; the root filesystem is read-only.", {
                  name: 'data',
                  mountPath: '/data',
                }),
                noted('SQLite writes its temporary files here.', { name: 'tmp', mountPath: '/tmp' }),
              ],
              lifecycle: { preStop: { exec: { command: flow(['sleep', '5']) } } },
              readinessProbe: { httpGet: { path: '/readyz', port: 'http' }, periodSeconds: 5, failureThreshold: 2 },
              livenessProbe: {
                httpGet: { path: '/healthz', port: 'http' },
                periodSeconds: 10,
                timeoutSeconds: 3,
                failureThreshold: 3,
              },
              resources: {
                requests: { cpu: profile.resources.cpu, memory: profile.resources.memory },
                limits: { cpu: '1', memory: profile.resources.memoryLimit },
              },
              securityContext: CONTAINER_SECURITY,
            },
          ],
          volumes: noted("Only its own credential (items), not the other principals' keys of the Secret.", [
            {
              name: 'credentials',
              secret: {
                secretName: CREDENTIALS_SECRET,
                defaultMode: trailing('0440: read for the owner (root) and the group (fsGroup)', 288),
                items: [{ key: name, path: name }],
              },
            },
            ...(claim ? [] : [{ name: 'data', emptyDir: { sizeLimit: '1Gi' } }]),
            { name: 'tmp', emptyDir: { sizeLimit: '256Mi' } },
          ]),
        },
      },
      ...(claim
        ? {
            volumeClaimTemplates: [
              {
                metadata: { name: 'data', labels: labels(name, 'projection') },
                spec: { accessModes: flow(['ReadWriteOnce']), resources: { requests: { storage: '1Gi' } } },
              },
            ],
          }
        : {}),
    },
  };
}

/** A service's manifest: its workload and its Service. */
export function serviceDocuments(name: ServiceName): YamlDocument[] {
  const { summary, projection, storage } = profileOf(name);
  const kept =
    storage === 'claim'
      ? `Its projection (${projection}) is a SQLite file in DATA_DIR, on a volume claimed per pod: a StatefulSet, so that a restart, a rolling update or a reschedule reads only the events after its checkpoint, where a new pod with an emptyDir would first read its events of the log again (docs/kubernetes.md, "Where each service keeps its projection").`
      : `Its projection (${projection}) is a SQLite file in DATA_DIR, on an emptyDir: it survives a restart of the container, and a new pod (a rolling update, a reschedule) rebuilds it from the log while the old pod keeps serving (docs/kubernetes.md, "Where each service keeps its projection").`;
  return [
    { comment: `${wrap(`${name}: ${summary}`)}\n${wrap(kept)}`, value: workload(name) },
    {
      value: {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: k8sService(name), labels: labels(name, componentOf(name)) },
        spec: {
          type: 'ClusterIP',
          selector: { 'app.kubernetes.io/name': name },
          ports: [{ name: 'http', port: (SERVICES[name] as ServiceEntry).port, targetPort: 'http' }],
        },
      },
    },
  ];
}
