import path from 'node:path';
import { normalizePath, readManifests, type PathRouter } from './ingress-routes';

/** The Gateway API routing of posts.com, next to this package's src/ and dist/. */
export const GATEWAY_ROUTES_FILE = path.resolve(__dirname, '..', 'k8s-gateway-api', 'routes', 'gateway.yaml');

export type PathMatchType = 'Exact' | 'PathPrefix' | 'RegularExpression';

/** One path match of one HTTPRoute rule, with where its requests go. */
export interface GatewayRoute {
  /** The HTTPRoute that declares it. */
  readonly route: string;
  readonly hostnames: readonly string[];
  readonly type: PathMatchType;
  readonly value: string;
  readonly service: string;
  readonly port: number;
  /** The rule's `timeouts.request`, if it sets one ("0s": none, for streams). */
  readonly requestTimeout: string | undefined;
}

/** The routes as Envoy Gateway orders and matches them. */
export type GatewayRouter = PathRouter<GatewayRoute>;

export class GatewayManifestError extends Error {
  override name = 'GatewayManifestError';
}

/** The routes of every HTTPRoute in a YAML file. */
export function loadGatewayRoutes(file: string = GATEWAY_ROUTES_FILE): GatewayRoute[] {
  return gatewayRoutesFromManifests(readManifests(file, GatewayManifestError));
}

/**
 * The path matches of the HTTPRoutes among parsed manifests. Only what this app's routes use is
 * modelled (path matches, one Service backend per rule); anything else (header or method matches,
 * filters, weights) would route differently than modelled here, so it is refused.
 */
export function gatewayRoutesFromManifests(documents: readonly unknown[]): GatewayRoute[] {
  return documents.filter(isHttpRoute).flatMap((httpRoute) => {
    const name = httpRoute.metadata?.name ?? '(unnamed)';
    return (httpRoute.spec?.rules ?? []).flatMap((rule, index) => {
      const where = `HTTPRoute ${name}, rule ${index}`;
      const [backend, ...others] = rule.backendRefs ?? [];
      const service = backend?.name;
      const port = backend?.port;
      if (others.length > 0 || !service || typeof port !== 'number' || (backend?.kind ?? 'Service') !== 'Service') {
        throw new GatewayManifestError(`${where}: needs exactly one backendRef, a Service with a port number`);
      }
      if (rule.filters?.length) throw new GatewayManifestError(`${where}: filters are not modelled`);
      return (rule.matches ?? [{}]).map((match): GatewayRoute => {
        if (match.headers?.length || match.queryParams?.length || match.method) {
          throw new GatewayManifestError(`${where}: only path matches are modelled`);
        }
        const type = match.path?.type ?? 'PathPrefix';
        if (type !== 'Exact' && type !== 'PathPrefix' && type !== 'RegularExpression')
          throw new GatewayManifestError(`${where}: unknown path match type ${type}`);
        return {
          route: name,
          hostnames: httpRoute.spec?.hostnames ?? [],
          type,
          value: match.path?.value ?? '/',
          service,
          port,
          requestTimeout: rule.timeouts?.request,
        };
      });
    });
  });
}

const TYPE_RANK: Record<PathMatchType, number> = { Exact: 0, RegularExpression: 1, PathPrefix: 2 };

/**
 * Matches as Envoy Gateway does: Exact matches first, then regular expressions, then prefixes,
 * each longest value first (the Gateway API spec fixes Exact before PathPrefix and longer prefixes
 * first, and leaves regular expressions to the implementation). A PathPrefix matches whole path
 * segments, a regular expression the whole path (RE2, as Envoy's safe_regex), all case-sensitive.
 * The request path is normalized as for the Ingress (Envoy Gateway normalizes paths and merges
 * slashes by default).
 */
export function createGatewayRouter(routes: readonly GatewayRoute[]): GatewayRouter {
  const ordered = [...routes].sort((a, b) => TYPE_RANK[a.type] - TYPE_RANK[b.type] || b.value.length - a.value.length);
  const matchers = ordered.map((route) => ({ route, matches: pathMatcher(route) }));
  const matchPath = (requestPath: string) => matchers.find(({ matches }) => matches(requestPath))?.route;
  return { routes: ordered, matchPath, match: (target) => matchPath(normalizePath(target)) };
}

function pathMatcher({ type, value }: GatewayRoute): (requestPath: string) => boolean {
  if (type === 'Exact') return (requestPath) => requestPath === value;
  if (type === 'RegularExpression') {
    const regex = new RegExp(`^(?:${value})$`);
    return (requestPath) => regex.test(requestPath);
  }
  const prefix = value.replace(/\/+$/, '');
  return (requestPath) => prefix === '' || requestPath === prefix || requestPath.startsWith(`${prefix}/`);
}

interface HttpRouteManifest {
  kind: 'HTTPRoute';
  metadata?: { name?: string };
  spec?: {
    hostnames?: string[];
    rules?: {
      matches?: {
        path?: { type?: string; value?: string };
        headers?: unknown[];
        queryParams?: unknown[];
        method?: string;
      }[];
      backendRefs?: { name?: string; port?: number; kind?: string }[];
      filters?: unknown[];
      timeouts?: { request?: string };
    }[];
  };
}

function isHttpRoute(document: unknown): document is HttpRouteManifest {
  return typeof document === 'object' && document !== null && (document as { kind?: unknown }).kind === 'HTTPRoute';
}
