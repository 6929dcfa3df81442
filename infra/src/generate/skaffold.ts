import { SERVICE_NAMES, type ServiceName } from '@mini-blog/common/registry';
import { flow, noted, type YamlDocument } from './yaml-file';

/** The client's image has a Dockerfile of its own: Vite's dev server for dev, the built files and the static server for production. */
const OWN_DOCKERFILE: Partial<Record<ServiceName, { dockerfile: string; sync: readonly string[] }>> = {
  client: {
    dockerfile: 'client/Dockerfile',
    sync: ['client/src/**', 'client/public/**', 'client/index.html', 'common/src/**'],
  },
};

/** Where every image keeps the repository's layout: a synced file lands at APP_DIR/<its path from the root>. */
export const APP_DIR = '/app';

/**
 * What `skaffold dev` copies into a process's running dev containers: every source folder its
 * Dockerfile copies, so that a source edit never rebuilds the image.
 */
export function syncSources(name: ServiceName): readonly string[] {
  return OWN_DOCKERFILE[name]?.sync ?? [`${name}/src/**`, 'common/src/**'];
}

function artifact(name: ServiceName, target: 'dev' | 'production') {
  const own = OWN_DOCKERFILE[name];
  const docker = {
    dockerfile: own?.dockerfile ?? 'Dockerfile.service',
    ...(target === 'dev' ? { target: 'dev' } : {}),
    ...(own ? {} : { buildArgs: { SERVICE: name } }),
  };
  return {
    image: `mini-blog/${name}`,
    context: '.',
    docker,
    ...(target === 'dev' ? { sync: { manual: syncSources(name).map((src) => ({ src, dest: APP_DIR })) } } : {}),
  };
}

const hooks = (check: readonly string[]) => ({
  kubectl: {
    hooks: {
      before: [
        { host: { command: flow(['node', 'infra/scripts/cluster-check.mjs', ...check]) } },
        { host: { command: flow(['node', 'infra/scripts/ensure-credentials.mjs']) } },
      ],
    },
  },
});

/** skaffold.yaml: an image per process of the registry, built from the repository root. */
export function skaffoldDocuments(): YamlDocument[] {
  return [
    {
      comment: `\`skaffold dev\`: builds the dev image of every process of the registry, deploys infra/k8s-dev (the
manifests in infra/k8s, the synced folders on volumes seeded from the image, the root filesystem
still read-only), and copies changed sources into the running containers, where tsc and node (or
Vite) run in watch mode. Every artifact syncs every source folder its Dockerfile copies (common/src
included), so a source edit never rebuilds an image; a change outside the synced files (a
package.json, a Dockerfile) does.
\`skaffold run -p prod\`: the production images (compiled JavaScript only) and infra/k8s as is.
Every image builds from the repository root, so the lockfile and \`common\` are in each; the backend
services share Dockerfile.service and differ only in the SERVICE build argument.`,
      value: {
        apiVersion: 'skaffold/v4beta13',
        kind: 'Config',
        metadata: { name: 'mini-blog' },
        build: { local: { push: false }, artifacts: SERVICE_NAMES.map((name) => artifact(name, 'dev')) },
        manifests: { kustomize: { paths: ['infra/k8s-dev'] } },
        deploy: noted(
          "Before every deploy: stop with the fix if posts.com cannot work on this cluster (no ingress\ncontroller, no hosts entry), then create the Secret with the services' credentials if it is missing.",
          hooks([]),
        ),
        profiles: [
          {
            name: 'prod',
            build: { local: { push: false }, artifacts: SERVICE_NAMES.map((name) => artifact(name, 'production')) },
            manifests: { kustomize: { paths: ['infra/k8s'] } },
          },
          noted(
            '`skaffold dev -p gateway-api`: the dev loop on a cluster routed by the Gateway API (Envoy\nGateway) instead of ingress-nginx; the cluster check looks for the Gateway API instead.',
            {
              name: 'gateway-api',
              manifests: { kustomize: { paths: ['infra/k8s-gateway-api/dev'] } },
              deploy: hooks(['--gateway']),
            },
          ),
          noted(
            '`skaffold dev -p jetstream`: the dev loop with the events on a 3-node NATS JetStream cluster and\ntwo replicas of every service (infra/k8s-jetstream, docs/scaling.md).',
            { name: 'jetstream', manifests: { kustomize: { paths: ['infra/k8s-jetstream/dev'] } } },
          ),
          noted(
            '`skaffold dev -p tracing`: the dev loop with an OpenTelemetry Collector and Jaeger beside the\nservices, which send their spans there too (infra/k8s-tracing, docs/kubernetes.md).',
            { name: 'tracing', manifests: { kustomize: { paths: ['infra/k8s-tracing/dev'] } } },
          ),
        ],
      },
    },
  ];
}
