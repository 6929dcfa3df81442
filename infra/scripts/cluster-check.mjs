#!/usr/bin/env node
// Checks that http://posts.com can work on the current cluster before skaffold deploys to it:
// the ingress controller (or, with --gateway, the Gateway API implementation) is installed and
// ready, and posts.com resolves to this machine or the cluster rather than to the public posts.com.
// Each problem is printed with its fix and the exit status is 1, which stops `skaffold dev`.
//   npm run cluster:check                 ingress-nginx (the default manifests)
//   npm run cluster:check -- --gateway    Envoy Gateway (infra/k8s-gateway-api)
// MINI_BLOG_HOST checks another host name; MINI_BLOG_SKIP_CLUSTER_CHECK=1 skips every check (for a
// cluster reached only through port-forwards).
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { getJson } from './kubectl.mjs';

const HOST = process.env.MINI_BLOG_HOST || 'posts.com';
const GATEWAY_CLASS = 'eg';
const DOCS = 'docs/kubernetes.md';

const isReady = (pod) =>
  (pod.status?.conditions ?? []).some((condition) => condition.type === 'Ready' && condition.status === 'True');
const loadBalancerAddresses = (services) =>
  services
    .flatMap((service) => (service.status?.loadBalancer?.ingress ?? []).map((entry) => entry.ip ?? entry.hostname))
    .filter(Boolean);

/** ingress-nginx: its IngressClass, a ready controller pod, and the addresses it is reached on. */
function checkIngressNginx() {
  const problems = [];
  if (!getJson(['ingressclass', 'nginx'])) {
    problems.push(
      'ingress-nginx is not installed (no IngressClass "nginx"), so nothing serves the Ingress objects.\n' +
        `  Fix: install it (${DOCS}, "3. Routing"), e.g. on kind:\n` +
        '    kubectl apply -f https://raw.githubusercontent.com/kubernetes/ingress-nginx/controller-v1.15.1/deploy/static/provider/kind/deploy.yaml\n' +
        '  or deploy the Gateway API routes instead: skaffold dev -p gateway-api',
    );
    return { problems, addresses: [] };
  }
  const selector = ['-n', 'ingress-nginx', '-l', 'app.kubernetes.io/component=controller'];
  const pods = getJson(['pods', ...selector])?.items ?? [];
  if (!pods.some(isReady)) {
    problems.push(
      `the ingress-nginx controller has no ready pod in the namespace ingress-nginx (${pods.length} found).\n` +
        '  Fix: wait for it, or see why it does not start:\n' +
        '    kubectl get pods -n ingress-nginx; kubectl describe pods -n ingress-nginx -l app.kubernetes.io/component=controller',
    );
  }
  return { problems, addresses: loadBalancerAddresses(getJson(['services', ...selector])?.items ?? []) };
}

/** The Gateway API: its CRDs, an accepted GatewayClass "eg", and the addresses of its Gateways. */
function checkGateway() {
  const problems = [];
  if (!getJson(['crd', 'gateways.gateway.networking.k8s.io'])) {
    problems.push(
      'the Gateway API CRDs are not installed, so the cluster does not know Gateway or HTTPRoute.\n' +
        `  Fix: install Envoy Gateway, which brings them (${DOCS}, "3. Routing").`,
    );
    return { problems, addresses: [] };
  }
  const gatewayClass = getJson(['gatewayclass', GATEWAY_CLASS]);
  const accepted = (gatewayClass?.status?.conditions ?? []).some(
    (condition) => condition.type === 'Accepted' && condition.status === 'True',
  );
  if (!gatewayClass || !accepted) {
    problems.push(
      `${gatewayClass ? 'the GatewayClass "eg" is not accepted by its controller' : 'there is no GatewayClass "eg"'}: Envoy Gateway is not installed or not running.\n` +
        `  Fix: install Envoy Gateway and its GatewayClass (${DOCS}, "3. Routing"); check kubectl get pods -n envoy-gateway-system`,
    );
  }
  const gateways = getJson(['gateways', '--all-namespaces'])?.items ?? [];
  const addresses = gateways.flatMap((gateway) => (gateway.status?.addresses ?? []).map((address) => address.value));
  return { problems, addresses };
}

/** The addresses of the cluster's nodes: minikube's `minikube ip` is one of them. */
function nodeAddresses() {
  return (getJson(['nodes'])?.items ?? []).flatMap((node) =>
    (node.status?.addresses ?? []).filter((address) => address.type === 'InternalIP').map((address) => address.address),
  );
}

const isLoopback = (address) => address === '::1' || address.startsWith('127.');

/** posts.com must lead here: a loopback address (Docker Desktop, kind, minikube tunnel) or one of the cluster's. */
async function checkHost(clusterAddresses) {
  let resolved;
  try {
    resolved = isIP(HOST) ? [HOST] : (await lookup(HOST, { all: true })).map((entry) => entry.address);
  } catch {
    return [
      `${HOST} does not resolve.\n` +
        `  Fix: add "127.0.0.1 ${HOST}" to /etc/hosts (Windows: C:\\Windows\\System32\\drivers\\etc\\hosts); on minikube use the address \`minikube ip\` prints.`,
    ];
  }
  if (resolved.some((address) => isLoopback(address) || clusterAddresses.includes(address))) return [];
  const known = ['127.0.0.1', ...new Set(clusterAddresses)].join(', ');
  return [
    `${HOST} resolves to ${resolved.join(', ')}, which is neither this machine nor the cluster (${known}): without a hosts entry the browser reaches the public ${HOST}.\n` +
      `  Fix: add "127.0.0.1 ${HOST}" to /etc/hosts, or the cluster's address (minikube ip) in its place.`,
  ];
}

async function main() {
  if (process.env.MINI_BLOG_SKIP_CLUSTER_CHECK === '1') {
    process.stdout.write('cluster check skipped (MINI_BLOG_SKIP_CLUSTER_CHECK=1)\n');
    return 0;
  }
  const gateway = process.argv.includes('--gateway');
  const routing = gateway ? checkGateway() : checkIngressNginx();
  const problems = [...routing.problems, ...(await checkHost([...routing.addresses, ...nodeAddresses()]))];
  if (problems.length === 0) {
    process.stdout.write(
      `cluster check: ${gateway ? 'Envoy Gateway' : 'ingress-nginx'} is ready and ${HOST} leads to it\n`,
    );
    return 0;
  }
  process.stderr.write(
    `\nhttp://${HOST} cannot work on this cluster yet:\n\n${problems.map((problem) => `- ${problem}`).join('\n\n')}\n\n`,
  );
  return 1;
}

main().then(
  (status) => process.exit(status),
  (err) => {
    process.stderr.write(
      `cluster check: ${err.message}\n  Is kubectl pointed at your cluster? kubectl config current-context\n`,
    );
    process.exit(1);
  },
);
