import { publicRoutes, type PublicRouteOf } from '@mini-blog/common/registry';
import { HOST, k8sService, labels } from './names';
import type { YamlDocument } from './yaml-file';

const USE_REGEX = { 'nginx.ingress.kubernetes.io/use-regex': 'true' };

/** The annotations a stream needs: each event passed on at once, and an idle stream kept open for an hour. */
const STREAM_ANNOTATIONS = {
  ...USE_REGEX,
  'nginx.ingress.kubernetes.io/proxy-buffering': 'off',
  'nginx.ingress.kubernetes.io/proxy-read-timeout': '3600',
  'nginx.ingress.kubernetes.io/proxy-send-timeout': '3600',
};

function ingress(name: string, annotations: Record<string, string>, routes: readonly PublicRouteOf[]) {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name, labels: labels(name, 'ingress'), annotations },
    spec: {
      ingressClassName: 'nginx',
      rules: [
        {
          host: HOST,
          http: {
            paths: routes.map((route) => ({
              path: route.path,
              pathType: 'ImplementationSpecific',
              backend: { service: { name: k8sService(route.service), port: { number: route.port } } },
            })),
          },
        },
      ],
    },
  };
}

/**
 * The Ingress objects of posts.com, from the registry's public routes: one for the streams (its
 * annotations turn buffering off and the timeouts up, and annotations apply to every path of their
 * object), one for every other route.
 */
export function ingressDocuments(routes: readonly PublicRouteOf[] = publicRoutes()): YamlDocument[] {
  return [
    {
      comment: `The public routes of ${HOST}. ingress-nginx turns every path into a case-insensitive regex
location anchored at the start (\`location ~* "^<path>"\`), tries them longest first, and merges
the Ingress objects of one host into one server; length alone decides which of two matching
paths wins (equal lengths: the greater string first, so /posts before /?(.*)). The local gateway
routes the same way (infra/src/ingress-routes.ts). The bus is reachable only on its read-only
views listener (port 4006), which serves nothing else: its API and admin routes are on port 4005,
which no rule names; a request for them falls through to the client.`,
      value: ingress(
        'ingress-srv',
        USE_REGEX,
        routes.filter((route) => !route.stream),
      ),
    },
    {
      comment: `The server-sent event streams. Annotations apply to every path of their Ingress object, so
the streams get their own: nginx must pass each event on at once (no proxy buffering) and keep
an idle stream open far longer than the 60 s default read timeout.`,
      value: ingress(
        'ingress-srv-stream',
        STREAM_ANNOTATIONS,
        routes.filter((route) => route.stream),
      ),
    },
  ];
}
