import type { RouteFor } from './gateway';

// Temporary table until the ingress matcher lands in infra.
export function ingressRouter(): RouteFor {
  return (p) => {
    if (/^\/posts\/create/i.test(p)) return 'posts';
    if (/^\/posts\/?(.*)\/comments/i.test(p)) return 'comments';
    if (/^\/posts/i.test(p)) return 'query';
    if (/^\/(subscriptions|flow)/i.test(p)) return 'event-bus';
    return 'client';
  };
}
