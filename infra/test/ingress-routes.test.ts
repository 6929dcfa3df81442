import {
  createIngressRouter,
  IngressManifestError,
  loadIngressRoutes,
  normalizePath,
  RequestTargetError,
  routesFromManifests,
  type IngressRoute,
} from '../src';

const route = (routePath: string, service: string): IngressRoute => ({
  ingress: 'test',
  host: 'test.com',
  path: routePath,
  service,
  port: 80,
});

const ingress = (annotations: Record<string, string>, pathType = 'ImplementationSpecific') => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'Ingress',
  metadata: { name: 'test', annotations },
  spec: {
    rules: [
      {
        host: 'test.com',
        http: { paths: [{ path: '/foo', pathType, backend: { service: { name: 'foo', port: { number: 80 } } } }] },
      },
    ],
  },
});

describe('the routes of posts.com (infra/k8s)', () => {
  const router = createIngressRouter(loadIngressRoutes());

  it.each([
    ['/posts/abc/comments', 'comments-srv', 4001],
    ['/posts/create', 'posts-srv', 4000],
    ['/posts', 'query-srv', 4002],
    ['/posts?x=1', 'query-srv', 4002],
    ['/posts/feed', 'query-srv', 4002],
    ['/posts/feed?limit=20&cursor=abc', 'query-srv', 4002],
    ['/posts/stream', 'query-srv', 4002],
    ['/', 'client-srv', 4007],
    ['/index.html', 'client-srv', 4007],
    ['/assets/index-abc.js', 'client-srv', 4007],
    ['/events', 'client-srv', 4007],
    ['/admin/parked', 'client-srv', 4007],
    ['/subscriptions', 'event-bus-srv', 4006],
    ['/flow', 'event-bus-srv', 4006],
    ['/flow?after=10&limit=50', 'event-bus-srv', 4006],
    ['/flow/stream', 'event-bus-srv', 4006],
    ['/traces/0af7651916cd43dd8448eb211c80319c', 'event-bus-srv', 4006],
    ['/traces?event=CommentCreated:c1', 'event-bus-srv', 4006],
  ])('sends %s to %s:%d', (target, service, port) => {
    expect(router.match(target)).toMatchObject({ service, port });
  });

  it('matches paths case-insensitively, as nginx does for ~* locations', () => {
    expect(router.match('/POSTS/Create')?.service).toBe('posts-srv');
  });

  it('matches the normalized path: merged slashes and resolved dot segments', () => {
    expect(router.match('//posts//create')?.service).toBe('posts-srv');
    expect(router.match('/posts/../events')?.service).toBe('client-srv');
  });

  it('never sends the bus its write or admin endpoints', () => {
    for (const target of ['/events', '/events?after=0', '/admin', '/admin/parked/query/replay', '/Events']) {
      expect(router.match(target)?.service).not.toBe('event-bus-srv');
    }
  });

  it('serves both streams through the Ingress that turns proxy buffering off', () => {
    expect(router.match('/posts/stream')?.ingress).toBe('ingress-srv-stream');
    expect(router.match('/flow/stream')?.ingress).toBe('ingress-srv-stream');
    expect(router.match('/posts/feed')?.ingress).toBe('ingress-srv');
  });

  it('declares every path once', () => {
    const paths = loadIngressRoutes().map((entry) => `${entry.host} ${entry.path}`);
    expect(new Set(paths).size).toBe(paths.length);
  });
});

describe('createIngressRouter', () => {
  it('tries longer paths first, as in the example of the ingress-nginx documentation', () => {
    const router = createIngressRouter([
      route('/foo/bar', 'service1'),
      route('/foo/bar/', 'service2'),
      route('/foo/bar/(.+)', 'service3'),
    ]);

    expect(router.match('/foo/bar/1')?.service).toBe('service3');
    expect(router.match('/foo/bar/')?.service).toBe('service2');
    expect(router.match('/foo/bar')?.service).toBe('service1');
  });

  it('lets a longer regex win over a shorter exact-looking path, as nginx does', () => {
    const router = createIngressRouter([route('/foo/bar/bar', 'exact'), route('/foo/bar/[A-Z0-9]{3}', 'regex')]);

    expect(router.match('/foo/bar/bar')?.service).toBe('regex');
  });

  it('orders paths of equal length by descending string, whatever the declaration order', () => {
    const router = createIngressRouter([route('/?(.*)', 'client'), route('/posts', 'query')]);

    expect(router.routes.map((entry) => entry.path)).toEqual(['/posts', '/?(.*)']);
    expect(router.match('/posts')?.service).toBe('query');
  });

  it('anchors at the start only: a path matches every request path it prefixes', () => {
    const router = createIngressRouter([route('/flow', 'bus')]);

    expect(router.match('/flow/stream')?.service).toBe('bus');
    expect(router.match('/api/flow')).toBeUndefined();
  });

  it('keeps the first of two routes declared for the same path', () => {
    const router = createIngressRouter([route('/a', 'first'), route('/a', 'second')]);

    expect(router.routes).toHaveLength(1);
    expect(router.match('/a')?.service).toBe('first');
  });

  it('matches nothing where no path does (nginx answers 404 from its default backend)', () => {
    expect(createIngressRouter([route('/posts', 'query')]).match('/comments')).toBeUndefined();
  });
});

describe('routesFromManifests', () => {
  it('reads the service and port of every path and skips other kinds', () => {
    const routes = routesFromManifests([
      { kind: 'Service' },
      ingress({ 'nginx.ingress.kubernetes.io/use-regex': 'true' }),
    ]);

    expect(routes).toEqual([{ ingress: 'test', host: 'test.com', path: '/foo', service: 'foo', port: 80 }]);
  });

  it('refuses an Ingress without use-regex, which ingress-nginx would match as prefixes', () => {
    expect(() => routesFromManifests([ingress({})])).toThrow(IngressManifestError);
  });

  it('refuses a pathType other than ImplementationSpecific', () => {
    expect(() => routesFromManifests([ingress({ 'nginx.ingress.kubernetes.io/use-regex': 'true' }, 'Prefix')])).toThrow(
      /pathType/,
    );
  });
});

describe('normalizePath', () => {
  it.each([
    ['/posts?limit=2', '/posts'],
    ['/posts#top', '/posts'],
    ['/posts%2Fcreate', '/posts/create'],
    ['//posts///feed', '/posts/feed'],
    ['/a/./b/../c', '/a/c'],
  ])('turns %s into %s (request-target.test.ts has the whole table)', (target, expected) => {
    expect(normalizePath(target)).toBe(expected);
  });

  it('refuses what nginx refuses', () => {
    expect(() => normalizePath('/../..')).toThrow(RequestTargetError);
  });
});
