import { createIngressRouter, loadIngressRoutes } from '@mini-blog/infra';
import type { RouteFor } from './gateway';

/**
 * The gateway routes with the ingress rules of infra/k8s, matched as ingress-nginx matches them, so
 * that the laptop and the cluster can never differ. A Kubernetes Service is `<service>-srv`.
 */
export function ingressRouter(): RouteFor {
  const router = createIngressRouter(loadIngressRoutes());
  return (normalizedPath) => router.matchPath(normalizedPath)?.service.replace(/-srv$/, '');
}
