import {
  NATS_ACCOUNT,
  NATS_CLUSTER,
  natsPermissions,
  natsPrincipals,
  ROUTE_CREDENTIAL,
  ROUTE_USER,
} from '@mini-blog/common/transport/jetstream/nats-config';
import { labels } from './names';
import { CLUSTER_DNS } from './network-policies';
import { CONFIG_MAP, CREDENTIALS_SECRET, eventServices, workloadKind } from './services';
import { flow, type YamlDocument } from './yaml-file';

/** The env variable a node reads a principal's password from (`$POSTS_PASSWORD` in nats.conf). */
export const passwordVariable = (principal: string) => `${principal.toUpperCase().replace(/-/g, '_')}_PASSWORD`;

/** The views' process on JetStream, in place of the bus, and the file that runs it (written by hand). */
export const VIEWS_POD = 'event-views';
export const VIEWS_FILE = 'infra/k8s-jetstream/transport/views.yaml';

/**
 * nats.conf as JSON, which nats-server reads as its own format, with each `$NAME` left for the
 * server to take from its env: the node's name and every password, which no file holds.
 */
export function natsConf(): string {
  const users = natsPrincipals().map((principal) => ({
    user: principal,
    password: `$${passwordVariable(principal)}`,
    permissions: natsPermissions(principal),
  }));
  const config = {
    server_name: '$SERVER_NAME',
    listen: '0.0.0.0:4222',
    http: '0.0.0.0:8222',
    pid_file: '/var/run/nats/nats.pid',
    lame_duck_duration: '30s',
    lame_duck_grace_period: '10s',
    jetstream: { store_dir: '/data', max_memory_store: '64M', max_file_store: '900M' },
    cluster: {
      name: NATS_CLUSTER,
      listen: '0.0.0.0:6222',
      authorization: { user: ROUTE_USER, password: `$${passwordVariable('route')}`, timeout: 2 },
    },
    accounts: { [NATS_ACCOUNT]: { jetstream: 'enabled', users } },
  };
  return `${JSON.stringify(config, null, 2).replace(/"\$([A-Z_]+)"/g, '$$$1')}\n`;
}

const natsLabels = labels('nats', 'event-log');

/** The parts of the NATS cluster that the registry decides: its users (nats.conf) and who may reach it. */
export function natsConfigDocuments(): YamlDocument[] {
  return [
    {
      comment: `The users of the NATS cluster (nats.yaml): every principal a user of the account ${NATS_ACCOUNT} with
its password from the Secret ${CREDENTIALS_SECRET} (nats-passwords.yaml puts them in each node's env)
and the permissions of common/src/transport/jetstream/subjects.ts: a service publishes only its own
event subjects, touches only the consumers of its own replica slots and reads only its own inbox;
views only reads. JSON, which nats-server reads as its own format; $NAME is taken from the env.`,
      value: {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'nats-config', labels: natsLabels },
        data: { 'nats.conf': natsConf() },
      },
    },
    {
      comment: `The services (and the views) reach the cluster on the client port; the nodes reach one another on
the route port. Nothing else in the cluster does. kubelet's probes come from the node.`,
      value: {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: { name: 'nats', labels: natsLabels },
        spec: {
          podSelector: { matchLabels: { 'app.kubernetes.io/name': 'nats' } },
          policyTypes: flow(['Ingress', 'Egress']),
          egress: [
            { to: [CLUSTER_DNS], ports: DNS_PORTS },
            {
              to: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'nats' } } }],
              ports: [{ protocol: 'TCP', port: 6222 }],
            },
          ],
          ingress: [
            {
              from: [
                {
                  podSelector: {
                    matchExpressions: [
                      {
                        key: 'app.kubernetes.io/name',
                        operator: 'In',
                        values: flow([...eventServices(), VIEWS_POD]),
                      },
                    ],
                  },
                },
              ],
              ports: [{ protocol: 'TCP', port: 4222 }],
            },
            {
              from: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'nats' } } }],
              ports: [{ protocol: 'TCP', port: 6222 }],
            },
          ],
        },
      },
    },
    {
      comment: `What the services and the views may open besides the base's allows (infra/k8s has a default
deny for both directions): DNS, and the cluster's client port.`,
      value: {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: { name: 'nats-clients', labels: natsLabels },
        spec: {
          podSelector: {
            matchExpressions: [
              { key: 'app.kubernetes.io/name', operator: 'In', values: flow([...eventServices(), VIEWS_POD]) },
            ],
          },
          policyTypes: flow(['Egress']),
          egress: [
            { to: [CLUSTER_DNS], ports: DNS_PORTS },
            {
              to: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'nats' } } }],
              ports: [{ protocol: 'TCP', port: 4222 }],
            },
          ],
        },
      },
    },
  ];
}

const DNS_PORTS = [
  { protocol: 'UDP', port: 53 },
  { protocol: 'TCP', port: 53 },
];

const secretEnv = (name: string, key: string) => ({
  name,
  valueFrom: { secretKeyRef: { name: CREDENTIALS_SECRET, key } },
});

/** A patch of the nodes' StatefulSet: each principal's password, and the routes', from the Secret. */
export function natsPasswordsDocuments(): YamlDocument[] {
  return [
    {
      comment: `Each node's env gets every user's password (nats.conf names them) and the routes' credential.`,
      value: {
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        metadata: { name: 'nats' },
        spec: {
          template: {
            spec: {
              containers: [
                {
                  name: 'nats',
                  env: [
                    ...natsPrincipals().map((principal) => secretEnv(passwordVariable(principal), principal)),
                    secretEnv(passwordVariable('route'), ROUTE_CREDENTIAL),
                  ],
                },
              ],
            },
          },
        },
      },
    },
  ];
}

const fromConfig = (key: string) => ({ name: key, valueFrom: { configMapKeyRef: { name: CONFIG_MAP, key } } });

/** A patch per event-driven service: on the JetStream transport, in two replicas, each named after its pod. */
export function jetstreamServicesDocuments(): YamlDocument[] {
  return eventServices().map((name, index) => ({
    ...(index === 0
      ? {
          comment: `Every event-driven service on JetStream, in two replicas: each pod keeps its own durable consumer,
named after the replica slot it claims (\`<service>-<slot>\`, the only consumers its NATS user may
touch; REPLICA_ID, the pod's name, is written in the claim), and its own projection (its own claim
or emptyDir, from the base manifests), and publishes with its own NATS user, whose password is the
credential the base manifests mount. A pod that stops cleanly releases its slot; one that dies
leaves it free 15 s later, and its consumer is made again by the next replica that claims it.`,
        }
      : {}),
    value: {
      apiVersion: 'apps/v1',
      kind: workloadKind(name),
      metadata: { name },
      spec: {
        replicas: 2,
        template: {
          spec: {
            containers: [
              {
                name,
                env: [
                  fromConfig('BUS_TRANSPORT'),
                  fromConfig('NATS_URL'),
                  fromConfig('NATS_STREAM_REPLICAS'),
                  { name: 'REPLICA_ID', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                ],
              },
            ],
          },
        },
      },
    },
  }));
}

/** A PodDisruptionBudget per event-driven service: of its two replicas, a drain or an upgrade keeps one running. */
export function disruptionBudgetDocuments(): YamlDocument[] {
  return eventServices().map((name, index) => ({
    ...(index === 0
      ? { comment: 'Two replicas of each service: a drain or an upgrade keeps one of each running.' }
      : {}),
    value: {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: { name, labels: { 'app.kubernetes.io/name': name, 'app.kubernetes.io/part-of': 'mini-blog' } },
      spec: { minAvailable: 1, selector: { matchLabels: { 'app.kubernetes.io/name': name } } },
    },
  }));
}
