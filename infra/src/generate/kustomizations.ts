import { SERVICE_NAMES, SERVICES, type ServiceEntry } from '@mini-blog/common';
import { publicPort } from './network-policies';
import { yamlText, type YamlDocument } from './yaml-file';

/** The files of infra/k8s, each service's manifest among them. */
export function k8sResources(): string[] {
  return ['config.yaml', ...SERVICE_NAMES.map((name) => `${name}.yaml`), 'ingress.yaml', 'network-policy.yaml'];
}

export function k8sKustomization(): YamlDocument[] {
  return [
    {
      comment:
        '`kubectl apply -k infra/k8s`: the production manifests. skaffold dev deploys the dev overlay\n(infra/k8s-dev) instead.',
      value: { apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources: k8sResources() },
    },
  ];
}

/** Envoy Gateway runs the proxies of every Gateway in its own namespace. */
const ENVOY_PROXIES = {
  namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'envoy-gateway-system' } },
  podSelector: {
    matchLabels: { 'app.kubernetes.io/managed-by': 'envoy-gateway', 'app.kubernetes.io/component': 'proxy' },
  },
};

const deleteIngress = (name: string) =>
  yamlText([{ value: { $patch: 'delete', apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name } } }]);

/**
 * The Gateway API component: the routes (gateway.yaml), the Ingress objects deleted, and each
 * NetworkPolicy that lets ingress-nginx reach a public port opened to the Envoy proxies too.
 */
export function gatewayKustomization(): YamlDocument[] {
  const routed = SERVICE_NAMES.filter((name) => (SERVICES[name] as ServiceEntry).routes.length > 0);
  return [
    {
      comment: `The Gateway API routing of posts.com, as a component that replaces the Ingress objects of the
manifests it is added to: a Gateway and two HTTPRoutes (gateway.yaml), no Ingress, and the
NetworkPolicies opened to the Envoy proxies (namespace envoy-gateway-system) wherever they let
ingress-nginx in: each public port of the registry's routes.`,
      value: {
        apiVersion: 'kustomize.config.k8s.io/v1alpha1',
        kind: 'Component',
        resources: ['gateway.yaml'],
        patches: [
          { patch: deleteIngress('ingress-srv').trimEnd() },
          { patch: deleteIngress('ingress-srv-stream').trimEnd() },
          ...routed.map((name) => ({
            target: { group: 'networking.k8s.io', kind: 'NetworkPolicy', name },
            patch: yamlText([
              {
                value: [
                  {
                    op: 'add',
                    path: '/spec/ingress/-',
                    value: { from: [ENVOY_PROXIES], ports: [{ protocol: 'TCP', port: publicPort(name) }] },
                  },
                ],
              },
            ]).trimEnd(),
          })),
        ],
      },
    },
  ];
}
