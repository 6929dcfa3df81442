import { SERVICE_NAMES, SERVICES, type ServiceEntry } from '@mini-blog/common/registry';
import { ingressControllerRule, INGRESS_NGINX } from './network-policies';
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
 * The Gateway API component: the routes (gateway.yaml), the Ingress objects deleted, and in each
 * NetworkPolicy that lets ingress-nginx reach a public port the Envoy proxies in its place: a
 * cluster routed by Envoy has no reason to admit the ingress-nginx controller's pods.
 */
export function gatewayKustomization(): YamlDocument[] {
  const routed = SERVICE_NAMES.filter((name) => (SERVICES[name] as ServiceEntry).routes.length > 0);
  return [
    {
      comment: `The Gateway API routing of posts.com, as a component that replaces the Ingress objects of the
manifests it is added to: a Gateway and two HTTPRoutes (gateway.yaml), no Ingress, and the
NetworkPolicies admitting the Envoy proxies (namespace envoy-gateway-system) in place of
ingress-nginx on each public port of the registry's routes (the test op fails the build if that
peer is not where it is replaced).`,
      value: {
        apiVersion: 'kustomize.config.k8s.io/v1alpha1',
        kind: 'Component',
        resources: ['gateway.yaml'],
        patches: [
          { patch: deleteIngress('ingress-srv').trimEnd() },
          { patch: deleteIngress('ingress-srv-stream').trimEnd() },
          ...routed.map((name) => {
            const peer = `/spec/ingress/${ingressControllerRule(name)}/from/0`;
            return {
              target: { group: 'networking.k8s.io', kind: 'NetworkPolicy', name },
              patch: yamlText([
                {
                  value: [
                    { op: 'test', path: `${peer}/namespaceSelector`, value: INGRESS_NGINX.namespaceSelector },
                    { op: 'replace', path: peer, value: ENVOY_PROXIES },
                  ],
                },
              ]).trimEnd(),
            };
          }),
        ],
      },
    },
  ];
}
