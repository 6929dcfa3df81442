import {
  EVENT_CLIENT_NAMES,
  SERVICE_NAMES,
  SERVICES,
  SUBSCRIBER_NAMES,
  isSubscriber,
  type ServiceEntry,
  type ServiceName,
} from '@mini-blog/common/registry';
import { labels } from './names';
import { componentOf } from './services';
import { flow, noted, type YamlDocument } from './yaml-file';

/** Where ingress-nginx runs (every way docs/kubernetes.md installs it puts it there). */
export const INGRESS_NGINX = {
  namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } },
  podSelector: { matchLabels: { 'app.kubernetes.io/name': 'ingress-nginx' } },
};

const pods = (names: readonly string[]) => ({
  podSelector: {
    matchExpressions: [{ key: 'app.kubernetes.io/name', operator: 'In', values: flow([...names]) }],
  },
});

/** The cluster's DNS (CoreDNS, labelled k8s-app=kube-dns in kube-system on every distribution): names are looked up there. */
export const CLUSTER_DNS = {
  namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
  podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
};

/** The port of a service that its public routes reach: its views port if it has one. */
export const publicPort = (name: ServiceName) => {
  const entry: ServiceEntry = SERVICES[name];
  return entry.viewsPort ?? entry.port;
};

/** The label of a service's component, for the objects that belong to it. */
export function componentLabel(name: ServiceName): string {
  if (name === 'event-bus') return 'event-log';
  if (name === 'client') return 'frontend';
  return componentOf(name);
}

interface Rule {
  readonly why: string;
  readonly from: readonly unknown[];
  readonly port: number;
}

/** Who may reach which port of a service, from the registry: ingress-nginx its public routes, the bus its deliveries, the services the bus's API. */
function rulesOf(name: ServiceName): Rule[] {
  const entry: ServiceEntry = SERVICES[name];
  const rules: Rule[] = [];
  if (name === 'event-bus')
    rules.push({
      why: 'The API (publish, read the log) and /admin: the services; the operator comes through port-forward.',
      from: [pods(EVENT_CLIENT_NAMES)],
      port: entry.port,
    });
  const publicFrom = entry.routes.length > 0 ? [INGRESS_NGINX] : [];
  // The bus delivers there and its views read the service's recent spans (GET /traces); on JetStream
  // the views are a pod of their own (event-views), which reads the spans alone.
  const deliveries = isSubscriber(name) ? [pods(['event-bus', 'event-views'])] : [];
  if (entry.viewsPort !== undefined) {
    if (publicFrom.length > 0)
      rules.push({ why: 'The read-only views: ingress-nginx.', from: publicFrom, port: entry.viewsPort });
  } else if (publicFrom.length + deliveries.length > 0) {
    const why =
      publicFrom.length > 0 && deliveries.length > 0
        ? 'Its public routes from ingress-nginx; deliveries and trace reads from the bus (or its views).'
        : publicFrom.length > 0
          ? 'Its public routes: ingress-nginx only.'
          : 'No public route: deliveries and trace reads from the bus (or its views) only.';
    rules.push({ why, from: [...publicFrom, ...deliveries], port: entry.port });
  }
  return rules;
}

/** The index of the rule that admits ingress-nginx, if any (it is the first peer of that rule). */
export function ingressControllerRule(name: ServiceName): number {
  return rulesOf(name).findIndex((rule) => rule.from[0] === INGRESS_NGINX);
}

interface EgressRule {
  readonly why: string;
  readonly to: readonly unknown[];
  readonly ports: readonly { protocol: 'TCP' | 'UDP'; port: number }[];
}

/** Where a service may open connections, from the registry: DNS; the bus's API for its clients; each subscriber's port for the bus. */
function egressOf(name: ServiceName): EgressRule[] {
  const rules: EgressRule[] = [
    {
      why: 'DNS, to find the Services by name.',
      to: [CLUSTER_DNS],
      ports: [
        { protocol: 'UDP', port: 53 },
        { protocol: 'TCP', port: 53 },
      ],
    },
  ];
  if (EVENT_CLIENT_NAMES.includes(name))
    rules.push({
      why: "The bus's API: publish, read the log.",
      to: [pods(['event-bus'])],
      ports: [{ protocol: 'TCP', port: SERVICES['event-bus'].port }],
    });
  if (name === 'event-bus')
    for (const subscriber of SUBSCRIBER_NAMES)
      rules.push({
        why: `Deliveries to ${subscriber}.`,
        to: [pods([subscriber])],
        ports: [{ protocol: 'TCP', port: SERVICES[subscriber].port }],
      });
  return rules;
}

function policy(name: ServiceName) {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name, labels: labels(name, componentLabel(name)) },
    spec: {
      podSelector: { matchLabels: { 'app.kubernetes.io/name': name } },
      policyTypes: flow(['Ingress', 'Egress']),
      ingress: rulesOf(name).map(({ why, from, port }) => noted(why, { from, ports: [{ protocol: 'TCP', port }] })),
      egress: egressOf(name).map(({ why, to, ports }) => noted(why, { to, ports })),
    },
  };
}

/** Nothing in or out of any pod of the namespace that a policy of its own does not allow. */
const DEFAULT_DENY = {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: 'default-deny', labels: labels('default-deny', 'network') },
  spec: { podSelector: {}, policyTypes: flow(['Ingress', 'Egress']) },
};

/** The namespace's default deny, then a NetworkPolicy per process of the registry. */
export function networkPolicyDocuments(): YamlDocument[] {
  const [first, ...rest] = SERVICE_NAMES.map((name) => ({ value: policy(name) }));
  return first
    ? [
        {
          comment: `Default deny: no pod of the namespace accepts or opens a connection that a policy below (or an
overlay's) does not allow, so a pod added without its own policy is cut off rather than open.`,
          value: DEFAULT_DENY,
        },
        {
          comment: `Who may open a connection to which pod, and on which port. Each pod accepts only:
  - on its public routes (the registry's \`routes\`), ingress-nginx;
  - on its delivery endpoint (POST /events of each subscriber) and its trace reads, the bus (on
    JetStream, its views: event-views);
  - the bus's API and admin port, the services that publish or read the log (${EVENT_CLIENT_NAMES.join(', ')});
  - the bus's read-only views, ingress-nginx;
and opens only: DNS (CoreDNS in kube-system), the bus's API (its clients), each subscriber's
port (the bus). A service's public routes and its delivery endpoint share one port, so both peers are allowed
there; the bus checks every token and every delivery is signed, so a peer allowed here still
needs a credential. Enforced where the CNI implements NetworkPolicy (Calico, Cilium, recent
kindnet; elsewhere it is accepted and has no effect). The kubelet's probes and \`kubectl
port-forward\` come from the node, which NetworkPolicy always allows.`,
          value: first.value,
        },
        ...rest,
      ]
    : [];
}
