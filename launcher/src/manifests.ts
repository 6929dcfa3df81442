import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createIngressRouter, K8S_DIR, loadIngressRoutes } from '@mini-blog/infra';
import { parse } from 'yaml';
import type { RouteFor } from './gateway';

/**
 * The laptop runs from the cluster's own manifests, so that the two can never differ: the gateway
 * routes with the ingress rules of infra/k8s, matched as ingress-nginx matches them, and the bus
 * delivers with the subscriber list of the ConfigMap. A Kubernetes Service is `<service>-srv`.
 */
export function ingressRouter(): RouteFor {
  const router = createIngressRouter(loadIngressRoutes());
  return (requestPath) => router.match(requestPath)?.service.replace(/-srv$/, '');
}

/** The ConfigMap's SUBSCRIBERS, each URL replaced by where that service listens on this machine. */
export function localSubscribers(urlOf: (service: string) => string): string {
  const manifest = parse(readFileSync(path.join(K8S_DIR, 'config.yaml'), 'utf8')) as { data?: { SUBSCRIBERS?: string } };
  const subscribers = manifest.data?.SUBSCRIBERS;
  if (!subscribers) throw new Error(`${path.join(K8S_DIR, 'config.yaml')}: has no data.SUBSCRIBERS`);
  return subscribers
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0)
    .map((entry) => {
      const [target = '', ...options] = entry.split('|');
      const name = target.slice(0, target.indexOf('='));
      return [`${name}=${urlOf(name)}/events`, ...options].join('|');
    })
    .join(',');
}
