import { publicRoutes, type PublicRouteOf } from '@mini-blog/common/registry';
import { HOST, k8sService, labels } from './names';
import { noted, type YamlDocument } from './yaml-file';

/** The Gateway and the listener every HTTPRoute attaches to. */
export const GATEWAY_NAME = 'mini-blog';

const REGEX_CHARACTERS = /[.*+?^${}()|[\]\\]/;

/**
 * The Gateway API match of an ingress-nginx path: a literal, or a literal followed by `/?(.*)`, is the
 * prefix it names (whole segments, where nginx's regex also takes `/postsfoo`: a path the app does
 * not serve); any other regex matches the whole path, as RE2 matches do, hence the `.*` after it.
 */
export function pathMatch(ingressPath: string): { type: 'PathPrefix' | 'RegularExpression'; value: string } {
  const literal = ingressPath.endsWith('/?(.*)') ? ingressPath.slice(0, -'/?(.*)'.length) : ingressPath;
  if (!REGEX_CHARACTERS.test(literal)) return { type: 'PathPrefix', value: literal === '' ? '/' : literal };
  return { type: 'RegularExpression', value: `${ingressPath}.*` };
}

function httpRoute(name: string, routes: readonly PublicRouteOf[]) {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name, labels: labels(name, 'gateway') },
    spec: {
      parentRefs: [{ name: GATEWAY_NAME, sectionName: 'http' }],
      hostnames: [HOST],
      rules: routes.map((route) => ({
        matches: [{ path: pathMatch(route.path) }],
        backendRefs: [{ name: k8sService(route.service), port: route.port }],
        ...(route.stream ? { timeouts: { request: '0s' } } : {}),
      })),
    },
  };
}

/** The Gateway API routing of posts.com, from the registry's public routes: the same table as the Ingress objects. */
export function gatewayDocuments(routes: readonly PublicRouteOf[] = publicRoutes()): YamlDocument[] {
  return [
    {
      comment: `The routes of ${HOST} for the Gateway API (standard channel, gateway.networking.k8s.io/v1):
the registry's public routes, as the Ingress objects in infra/k8s (ingress.yaml) have them, to the
same Services and ports; infra/test/gateway-api.test.ts checks that the two route every request alike.

Gateway API orders matches by type and length, not by declaration: Exact first, then (as Envoy
Gateway does; the spec leaves regular expressions to the implementation) RegularExpression, then
PathPrefix, each longest first. A PathPrefix matches whole path segments (/flow matches
/flow/stream, not /flowers) and, like every match here, is case-sensitive, where ingress-nginx
matches case-insensitive regexes anchored at the start only: /POSTS/create reaches posts there
and the client here. No path the app serves differs.`,
      value: {
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'Gateway',
        metadata: { name: GATEWAY_NAME, labels: labels(GATEWAY_NAME, 'gateway') },
        spec: {
          gatewayClassName: noted(
            'Created once per cluster with Envoy Gateway (infra/envoy-gateway-class.yaml).',
            'eg',
          ),
          listeners: [
            {
              name: 'http',
              protocol: 'HTTP',
              port: 80,
              hostname: HOST,
              allowedRoutes: { namespaces: { from: 'Same' } },
            },
          ],
        },
      },
    },
    {
      comment: `Every route but the streams. The bus is routed only for its read-only views: POST /events and
/admin fall through to the client.`,
      value: httpRoute(
        GATEWAY_NAME,
        routes.filter((route) => !route.stream),
      ),
    },
    {
      comment: `The server-sent event streams. Envoy passes response bytes on as they come (it does not
buffer them), and the services send a heartbeat every 15 s, inside Envoy's idle timeout; what
would cut a stream is the per-request timeout, which \`request: 0s\` turns off for these routes.`,
      value: httpRoute(
        `${GATEWAY_NAME}-stream`,
        routes.filter((route) => route.stream),
      ),
    },
  ];
}
