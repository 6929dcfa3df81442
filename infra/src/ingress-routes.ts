import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { normalizeRequestTarget } from './request-target';

/** The manifests the cluster gets, next to this package's src/ and dist/. */
export const K8S_DIR = path.resolve(__dirname, '..', 'k8s');

/** One path of one Ingress rule: requests whose path it matches go to the service's port. */
export interface IngressRoute {
  /** The Ingress object that declares it. */
  readonly ingress: string;
  readonly host: string | undefined;
  /** The regex as written in the manifest, without the `^` that ingress-nginx adds. */
  readonly path: string;
  readonly service: string;
  readonly port: number | string;
}

/** A route table: its routes in the order they are tried, and the route a request target takes. */
export interface PathRouter<Route> {
  /** In the order the proxy tries them. */
  readonly routes: readonly Route[];
  /**
   * The route the proxy picks for a request target, or undefined where it answers 404 itself;
   * throws a RequestTargetError where it answers 400 or 414.
   */
  match(target: string): Route | undefined;
  /** The same for a path normalized already (normalizing twice would decode `%25` twice). */
  matchPath(normalizedPath: string): Route | undefined;
}

/** The routes as ingress-nginx orders and matches them. */
export type IngressRouter = PathRouter<IngressRoute>;

export class IngressManifestError extends Error {
  override name = 'IngressManifestError';
}

const USE_REGEX = 'nginx.ingress.kubernetes.io/use-regex';

/** The routes of every Ingress object in the YAML files of a folder (not its subfolders). */
export function loadIngressRoutes(dir: string = K8S_DIR): IngressRoute[] {
  const files = readdirSync(dir)
    .filter((name) => /\.ya?ml$/.test(name))
    .sort();
  return files.flatMap((name) => routesFromManifests(readManifests(path.join(dir, name), IngressManifestError)));
}

/** The documents of a YAML file, parsed; a syntax error is thrown as the given error, naming the file. */
export function readManifests(file: string, ErrorType: new (message: string) => Error): unknown[] {
  return parseAllDocuments(readFileSync(file, 'utf8')).map((document) => {
    if (document.errors.length > 0) throw new ErrorType(`${file}: ${document.errors[0]?.message}`);
    return document.toJS() as unknown;
  });
}

/**
 * The routes of the Ingress objects among parsed manifests. Only ingress-nginx's regex mode is
 * modelled (every object with use-regex, every path ImplementationSpecific): anything else would
 * route differently there than here, so it is refused rather than guessed at.
 */
export function routesFromManifests(documents: readonly unknown[]): IngressRoute[] {
  return documents.filter(isIngress).flatMap((ingress) => {
    const name = ingress.metadata?.name ?? '(unnamed)';
    if (ingress.metadata?.annotations?.[USE_REGEX] !== 'true') {
      throw new IngressManifestError(`Ingress ${name}: needs the annotation ${USE_REGEX}: "true"`);
    }
    return (ingress.spec?.rules ?? []).flatMap((rule) =>
      (rule.http?.paths ?? []).map((entry): IngressRoute => {
        const service = entry.backend?.service;
        const port = service?.port?.number ?? service?.port?.name;
        if (entry.pathType !== 'ImplementationSpecific') {
          throw new IngressManifestError(
            `Ingress ${name}, path ${entry.path}: pathType must be ImplementationSpecific`,
          );
        }
        if (!service?.name || port === undefined) {
          throw new IngressManifestError(
            `Ingress ${name}, path ${entry.path}: backend must name a service and its port`,
          );
        }
        return { ingress: name, host: rule.host, path: entry.path ?? '/', service: service.name, port };
      }),
    );
  });
}

/**
 * Matches as ingress-nginx does in regex mode: each path becomes `location ~* "^<path>"`
 * (case-insensitive, anchored at the start only), the locations are ordered by descending path
 * length (ties by descending path string), and nginx takes the first that matches the normalized
 * request path. A path declared twice keeps its first route, as the controller does.
 */
export function createIngressRouter(routes: readonly IngressRoute[]): IngressRouter {
  const unique = routes.filter(
    (route, index) => routes.findIndex((other) => other.path === route.path && other.host === route.host) === index,
  );
  const ordered = [...unique].sort(
    (a, b) => b.path.length - a.path.length || (a.path < b.path ? 1 : a.path > b.path ? -1 : 0),
  );
  const compiled = ordered.map((route) => ({ route, regex: new RegExp(`^${route.path}`, 'i') }));
  const matchPath = (requestPath: string) => compiled.find(({ regex }) => regex.test(requestPath))?.route;
  return { routes: ordered, matchPath, match: (target) => matchPath(normalizePath(target)) };
}

/**
 * The path nginx matches locations against (no query string, percent-decoded, dot segments
 * resolved, repeated slashes merged; see ./request-target.ts). Throws a RequestTargetError where
 * nginx answers 400 or 414.
 */
export function normalizePath(target: string): string {
  return normalizeRequestTarget(target).path;
}

interface IngressManifest {
  kind: 'Ingress';
  metadata?: { name?: string; annotations?: Record<string, string> };
  spec?: {
    rules?: {
      host?: string;
      http?: {
        paths?: {
          path?: string;
          pathType?: string;
          backend?: { service?: { name?: string; port?: { number?: number; name?: string } } };
        }[];
      };
    }[];
  };
}

function isIngress(document: unknown): document is IngressManifest {
  return typeof document === 'object' && document !== null && (document as { kind?: unknown }).kind === 'Ingress';
}
