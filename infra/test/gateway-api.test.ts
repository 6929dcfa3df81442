import path from 'node:path';
import Ajv from 'ajv';
import {
  createGatewayRouter,
  createIngressRouter,
  GATEWAY_ROUTES_FILE,
  GatewayManifestError,
  gatewayRoutesFromManifests,
  loadGatewayRoutes,
  loadIngressRoutes,
  type GatewayRoute,
} from '../src';
import { schemaErrors } from './support/kubernetes-schemas';
import { hasKubectl, kubectlKustomize } from './support/kustomize';
import {
  K8S,
  K8S_DEV,
  loadKustomization,
  readText,
  readYamlDocuments,
  ROOT,
  servicesOf,
  type K8sObject,
} from './support/repository';

const OVERLAY = path.join(ROOT, 'infra', 'k8s-gateway-api');
const GATEWAY_KINDS = ['GatewayClass', 'Gateway', 'HTTPRoute'];
const schemas = JSON.parse(readText('infra/schemas/gateway-api-v1.6.1-standard.json')) as Record<string, object>;
const routeObjects = readYamlDocuments(GATEWAY_ROUTES_FILE) as K8sObject[];
const gatewayClass = readYamlDocuments(path.join(ROOT, 'infra', 'envoy-gateway-class.yaml')) as K8sObject[];
const gatewayApiObjects = [...gatewayClass, ...routeObjects];
const base = loadKustomization(K8S);

const ingress = createIngressRouter(loadIngressRoutes());
const gateway = createGatewayRouter(loadGatewayRoutes());
const target = (route: { service: string; port: number | string } | undefined) =>
  route ? `${route.service}:${route.port}` : '404';

/**
 * Every request path of one to four segments from the words the routes and the app use, each
 * also with a query string and a trailing slash: every path the app serves and the near misses
 * around them (/posts/create/comments, /flow/stream/x, /events, /admin/...).
 */
function requestPaths(): string[] {
  const words = [
    'posts',
    'create',
    'comments',
    'stream',
    'feed',
    'flow',
    'subscriptions',
    'traces',
    'events',
    'admin',
    'assets',
    'index.html',
    'abc-123',
  ];
  let level = [''];
  const paths = ['/'];
  for (let depth = 1; depth <= 4; depth += 1) {
    level = level.flatMap((prefix) => words.map((word) => `${prefix}/${word}`));
    paths.push(...level);
  }
  return paths.flatMap((requestPath) => [requestPath, `${requestPath}/`, `${requestPath}?after=1`]);
}

/** The CEL rules (x-kubernetes-validations) the CRD schema puts on a route rule's path match. */
function pathMatchRules(): string[] {
  type Schema = { properties: Record<string, Schema>; items: Schema; 'x-kubernetes-validations'?: { rule: string }[] };
  const httpRoute = schemas.HTTPRoute as Schema;
  const path = httpRoute.properties.spec?.properties.rules?.items.properties.matches?.items.properties.path;
  return (path?.['x-kubernetes-validations'] ?? []).map((validation) => validation.rule);
}

/**
 * The path-match CEL rules of Gateway API v1.6.1, as checks: the API server refuses a route that
 * breaks one, and JSON Schema cannot express them.
 */
const PATH_RULES: { rule: string; holds: (type: string, value: string) => boolean }[] = [
  {
    rule: "(self.type in ['Exact','PathPrefix']) ? self.value.startsWith('/') : true",
    holds: (type, value) => !isLiteral(type) || value.startsWith('/'),
  },
  {
    rule: "(self.type in ['Exact','PathPrefix']) ? !self.value.contains('//') : true",
    holds: (type, value) => !isLiteral(type) || !value.includes('//'),
  },
  {
    rule: "(self.type in ['Exact','PathPrefix']) ? !self.value.contains('/./') : true",
    holds: (type, value) => !isLiteral(type) || !value.includes('/./'),
  },
  {
    rule: "(self.type in ['Exact','PathPrefix']) ? !self.value.contains('/../') : true",
    holds: (type, value) => !isLiteral(type) || !value.includes('/../'),
  },
  {
    rule: "(self.type in ['Exact','PathPrefix']) ? !self.value.contains('%2f') : true",
    holds: (type, value) => !isLiteral(type) || !value.includes('%2f'),
  },
  {
    rule: "(self.type in ['Exact','PathPrefix']) ? !self.value.contains('%2F') : true",
    holds: (type, value) => !isLiteral(type) || !value.includes('%2F'),
  },
  {
    rule: "(self.type in ['Exact','PathPrefix']) ? !self.value.contains('#') : true",
    holds: (type, value) => !isLiteral(type) || !value.includes('#'),
  },
  {
    rule: "(self.type in ['Exact','PathPrefix']) ? !self.value.endsWith('/..') : true",
    holds: (type, value) => !isLiteral(type) || !value.endsWith('/..'),
  },
  {
    rule: "(self.type in ['Exact','PathPrefix']) ? !self.value.endsWith('/.') : true",
    holds: (type, value) => !isLiteral(type) || !value.endsWith('/.'),
  },
  {
    rule: "self.type in ['Exact','PathPrefix'] || self.type == 'RegularExpression'",
    holds: (type) => ['Exact', 'PathPrefix', 'RegularExpression'].includes(type),
  },
  {
    rule: `(self.type in ['Exact','PathPrefix']) ? self.value.matches(r"""^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$""") : true`,
    holds: (type, value) => !isLiteral(type) || /^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$/.test(value),
  },
];
const isLiteral = (type: string) => type === 'Exact' || type === 'PathPrefix';

describe('infra/k8s-gateway-api: the Gateway API routes of posts.com', () => {
  describe('against the Gateway API v1.6.1 CRDs (standard channel)', () => {
    it.each(gatewayApiObjects.map((object) => [`${object.kind} ${object.metadata.name}`, object] as const))(
      '%s validates against its CRD schema',
      (_name, object) => {
        const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
        expect(object.apiVersion).toBe('gateway.networking.k8s.io/v1');
        const schema = schemas[object.kind];
        expect(schema).toBeDefined();
        ajv.validate(schema as object, object);
        expect(ajv.errors ?? []).toEqual([]);
      },
    );

    it('refuses what the CRD schema refuses: the check is not vacuous', () => {
      const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
      const route = routeObjects.find((object) => object.kind === 'HTTPRoute') as K8sObject;
      const broken = {
        ...route,
        spec: {
          ...route.spec,
          rules: [{ matches: [{ path: { type: 'Prefix', value: '/' } }], backendRefs: [{ name: 'x', port: 70000 }] }],
        },
      };

      expect(ajv.validate(schemas.HTTPRoute as object, broken)).toBe(false);
      expect(ajv.errors?.map((error) => error.instancePath)).toEqual(
        expect.arrayContaining(['/spec/rules/0/matches/0/path/type', '/spec/rules/0/backendRefs/0/port']),
      );
    });

    it('knows every CEL rule the schema puts on a path match', () => {
      expect(pathMatchRules()).toEqual(PATH_RULES.map((entry) => entry.rule));
    });

    it.each(loadGatewayRoutes().map((route) => [`${route.type} ${route.value}`, route] as const))(
      '%s satisfies those rules',
      (_name, route) => {
        for (const { rule, holds } of PATH_RULES)
          expect({ rule, holds: holds(route.type, route.value) }).toEqual({ rule, holds: true });
      },
    );

    it('writes each regular expression in the syntax RE2 and JavaScript share (no lookaround or backreferences)', () => {
      for (const route of loadGatewayRoutes().filter((entry) => entry.type === 'RegularExpression')) {
        expect(route.value).not.toMatch(/\(\?[=!<]|\\[1-9]/);
        expect(() => new RegExp(route.value)).not.toThrow();
      }
    });
  });

  describe('attachment', () => {
    const gatewayObject = routeObjects.find((object) => object.kind === 'Gateway') as K8sObject & {
      spec: { gatewayClassName: string; listeners: { name: string; hostname: string; port: number }[] };
    };
    const httpRoutes = routeObjects.filter((object) => object.kind === 'HTTPRoute') as (K8sObject & {
      spec: { parentRefs: { name: string; sectionName?: string }[]; hostnames: string[] };
    })[];

    it('has one Gateway of the class infra/envoy-gateway-class.yaml creates, listening for the Ingress host on port 80', () => {
      const hosts = [...new Set(loadIngressRoutes().map((route) => route.host))];

      expect(gatewayObject.spec.gatewayClassName).toBe(gatewayClass[0]?.metadata.name);
      expect(gatewayObject.spec.listeners.map(({ hostname, port }) => ({ hostname, port }))).toEqual(
        hosts.map((hostname) => ({ hostname, port: 80 })),
      );
    });

    it('attaches every HTTPRoute to that listener, for the same host', () => {
      for (const route of httpRoutes) {
        expect(route.spec.parentRefs).toEqual([
          { name: gatewayObject.metadata.name, sectionName: gatewayObject.spec.listeners[0]?.name },
        ]);
        expect(route.spec.hostnames).toEqual([gatewayObject.spec.listeners[0]?.hostname]);
      }
    });

    it('sends requests only to Services and ports that infra/k8s declares', () => {
      const services = servicesOf(base);
      for (const route of loadGatewayRoutes()) {
        const service = services.find((candidate) => candidate.name === route.service);
        expect({ route: route.value, ports: service?.ports.map((port) => port.port) }).toEqual({
          route: route.value,
          ports: expect.arrayContaining([route.port]),
        });
      }
    });
  });

  describe('the same table as the Ingress objects', () => {
    it('reaches the same Services on the same ports', () => {
      const backends = (routes: readonly { service: string; port: number | string }[]) =>
        [...new Set(routes.map(target))].sort();

      expect(backends(gateway.routes)).toEqual(backends(ingress.routes));
    });

    it('routes every path of the app, and the near misses around them, to the same Service and port', () => {
      const differences = requestPaths()
        .map((requestPath) => ({
          requestPath,
          ingress: target(ingress.match(requestPath)),
          gateway: target(gateway.match(requestPath)),
        }))
        .filter((row) => row.ingress !== row.gateway);

      expect(differences).toEqual([]);
    });

    it('routes the streams through rules without a request timeout, as the Ingress routes them through its unbuffered Ingress', () => {
      for (const stream of ['/posts/stream', '/flow/stream', '/posts/stream?lastEventId=4']) {
        expect(ingress.match(stream)?.ingress).toBe('ingress-srv-stream');
        expect(gateway.match(stream)?.requestTimeout).toBe('0s');
      }
      for (const other of ['/posts', '/posts/feed', '/flow', '/subscriptions', '/'])
        expect(gateway.match(other)?.requestTimeout).toBeUndefined();
    });

    it('never sends the bus its write or admin endpoints', () => {
      for (const path of [
        '/events',
        '/events?after=0',
        '/admin',
        '/admin/parked/query/replay',
        '/Events',
        '/posts/../events',
      ]) {
        expect(gateway.match(path)?.service).not.toBe('event-bus-srv');
      }
    });

    it('differs from ingress-nginx only where nginx is looser than whole, case-sensitive segments: paths the app does not serve', () => {
      expect(ingress.match('/POSTS/create')?.service).toBe('posts-srv');
      expect(gateway.match('/POSTS/create')?.service).toBe('client-srv');
      expect(ingress.match('/flowers')?.service).toBe('event-bus-srv');
      expect(gateway.match('/flowers')?.service).toBe('client-srv');
    });
  });

  (hasKubectl ? describe : describe.skip)('kubectl kustomize', () => {
    const rendered = { production: kubectlKustomize(OVERLAY), dev: kubectlKustomize(path.join(OVERLAY, 'dev')) };
    const keyOf = (object: K8sObject) => `${object.kind}/${object.metadata.name}`;

    it.each(Object.entries(rendered))(
      'renders the %s manifests with the Gateway and HTTPRoutes in place of the Ingress objects',
      (_name, objects) => {
        const expected = [...base.filter((object) => object.kind !== 'Ingress'), ...routeObjects].map(keyOf).sort();

        expect(objects.map(keyOf).sort()).toEqual(expected);
      },
    );

    it("keeps the dev overlay's workloads as they are: synced folders on seeded volumes, a read-only root filesystem", () => {
      const workloads = (objects: readonly K8sObject[]) =>
        objects.filter((object) => object.kind === 'Deployment' || object.kind === 'StatefulSet');

      expect(workloads(rendered.dev)).toEqual(workloads(kubectlKustomize(K8S_DEV)));
    });

    it.each(Object.entries(rendered))(
      'renders %s objects that validate: core kinds against kubernetes-models, Gateway API kinds against the CRDs',
      (_name, objects) => {
        const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
        for (const object of objects) {
          const errors = GATEWAY_KINDS.includes(object.kind)
            ? ajv.validate(schemas[object.kind] as object, object)
              ? []
              : ajv.errors
            : schemaErrors(object);
          expect({ object: keyOf(object), errors }).toEqual({ object: keyOf(object), errors: [] });
        }
      },
    );

    it('lets the Envoy proxies reach every port of every pod that ingress-nginx may reach in infra/k8s', () => {
      type Peer = { namespaceSelector?: { matchLabels?: Record<string, string> } };
      type Policy = K8sObject & { spec: { ingress: { from: Peer[]; ports: { port: number }[] }[] } };
      const portsFrom = (policy: Policy, namespace: string) =>
        (policy.spec.ingress ?? [])
          .filter((rule) =>
            rule.from.some(
              (peer) => peer.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'] === namespace,
            ),
          )
          .flatMap((rule) => rule.ports.map((port) => port.port));
      const policies = base.filter((object) => object.kind === 'NetworkPolicy') as Policy[];
      expect(policies.length).toBeGreaterThan(0);
      for (const policy of policies) {
        const patched = rendered.production.find((object) => keyOf(object) === keyOf(policy)) as Policy;
        expect({ policy: policy.metadata.name, ports: portsFrom(patched, 'envoy-gateway-system') }).toEqual({
          policy: policy.metadata.name,
          ports: portsFrom(policy, 'ingress-nginx'),
        });
        // Envoy in its place: the ingress-nginx controller's pods are admitted nowhere.
        expect({ policy: policy.metadata.name, ports: portsFrom(patched, 'ingress-nginx') }).toEqual({
          policy: policy.metadata.name,
          ports: [],
        });
      }
    });
  });
});

describe('createGatewayRouter', () => {
  const route = (type: GatewayRoute['type'], value: string, service: string): GatewayRoute => ({
    route: 'test',
    hostnames: [],
    type,
    value,
    service,
    port: 80,
    requestTimeout: undefined,
  });

  it('tries Exact matches, then regular expressions, then prefixes, each longest first', () => {
    const router = createGatewayRouter([
      route('PathPrefix', '/a', 'prefix'),
      route('PathPrefix', '/a/b', 'longer-prefix'),
      route('RegularExpression', '/a/.*', 'regex'),
      route('Exact', '/a/b', 'exact'),
    ]);

    expect(router.match('/a/b')?.service).toBe('exact');
    expect(router.match('/a/c')?.service).toBe('regex');
    expect(router.match('/a')?.service).toBe('prefix');
  });

  it('matches a prefix by whole path segments', () => {
    const router = createGatewayRouter([route('PathPrefix', '/flow', 'bus')]);

    expect(router.match('/flow')?.service).toBe('bus');
    expect(router.match('/flow/stream')?.service).toBe('bus');
    expect(router.match('/flowers')).toBeUndefined();
  });

  it('matches a regular expression against the whole path, case-sensitively, without the query', () => {
    const router = createGatewayRouter([route('RegularExpression', '/posts/[^/]+/comments', 'comments')]);

    expect(router.match('/posts/1/comments?x=1')?.service).toBe('comments');
    expect(router.match('/posts/1/comments/2')).toBeUndefined();
    expect(router.match('/Posts/1/comments')).toBeUndefined();
  });

  it('lets the prefix / match every path', () => {
    expect(createGatewayRouter([route('PathPrefix', '/', 'client')]).match('/anything/at/all')?.service).toBe('client');
  });
});

describe('gatewayRoutesFromManifests', () => {
  const httpRoute = (rule: Record<string, unknown>) => ({
    kind: 'HTTPRoute',
    metadata: { name: 'test' },
    spec: { hostnames: ['test.com'], rules: [rule] },
  });
  const backendRefs = [{ name: 'foo', port: 80 }];

  it('reads each path match with its Service, port and request timeout, and skips other kinds', () => {
    const routes = gatewayRoutesFromManifests([
      { kind: 'Service' },
      httpRoute({ matches: [{ path: { type: 'Exact', value: '/a' } }], backendRefs, timeouts: { request: '0s' } }),
    ]);

    expect(routes).toEqual([
      {
        route: 'test',
        hostnames: ['test.com'],
        type: 'Exact',
        value: '/a',
        service: 'foo',
        port: 80,
        requestTimeout: '0s',
      },
    ]);
  });

  it('reads a rule without matches as the prefix /, as the API defaults it', () => {
    expect(gatewayRoutesFromManifests([httpRoute({ backendRefs })])).toMatchObject([
      { type: 'PathPrefix', value: '/' },
    ]);
  });

  it.each([
    ['two backends', { backendRefs: [...backendRefs, { name: 'bar', port: 80 }] }],
    ['a backend that is no Service', { backendRefs: [{ name: 'foo', port: 80, kind: 'Backend' }] }],
    ['a filter', { backendRefs, filters: [{ type: 'RequestHeaderModifier' }] }],
    [
      'a header match',
      { backendRefs, matches: [{ path: { type: 'PathPrefix', value: '/' }, headers: [{ name: 'x', value: 'y' }] }] },
    ],
  ])('refuses a rule with %s, which it does not model', (_what, rule) => {
    expect(() => gatewayRoutesFromManifests([httpRoute(rule)])).toThrow(GatewayManifestError);
  });
});
