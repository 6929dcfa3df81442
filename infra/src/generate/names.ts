import type { ServiceName } from '@mini-blog/common/registry';

/** The public host of the blog, on the Ingress and the Gateway API routes. */
export const HOST = 'posts.com';

/** The Kubernetes Service in front of a service's pods (`posts-srv`), as the course names them. */
export const k8sService = (name: ServiceName) => `${name}-srv`;

/** The recommended labels of an object that belongs to a service or part of the system. */
export function labels(name: string, component: string): Record<string, string> {
  return {
    'app.kubernetes.io/name': name,
    'app.kubernetes.io/component': component,
    'app.kubernetes.io/part-of': 'mini-blog',
  };
}
