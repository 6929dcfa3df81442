import { createIngressRouter, ingressDocuments, routesFromManifests } from '@mini-blog/infra';
import type { RouteFor } from './gateway';

/**
 * The gateway routes with the Ingress objects that the registry's public routes make (the ones
 * infra/k8s/ingress.yaml holds, which a test keeps equal to them), matched as ingress-nginx matches
 * them, so that the laptop and the cluster can never differ. A Kubernetes Service is `<service>-srv`.
 */
export function ingressRouter(): RouteFor {
  const router = createIngressRouter(routesFromManifests(ingressDocuments().map((document) => document.value)));
  return (normalizedPath) => router.matchPath(normalizedPath)?.service.replace(/-srv$/, '');
}
