import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { SERVICE_NAMES, SERVICES as REGISTRY, type ServiceEntry, type ServiceName } from '@mini-blog/common/registry';
import { createHttpApp, createHttpServer, silentLogger, TOO_DEEP_MESSAGE } from '@mini-blog/common/service';
import { waitFor } from '@mini-blog/common/testing';
import request from 'supertest';
import { createGateway } from '../src/gateway';
import { ingressRouter } from '../src/manifests';

/** A real upstream on a free loopback port. */
async function upstream(handler: http.RequestListener): Promise<{ url: string; server: http.Server }> {
  const server = http.createServer(handler).listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

const routeFor = (path: string) =>
  path.startsWith('/posts') ? 'query' : path.startsWith('/nowhere') ? undefined : 'client';

describe('createGateway', () => {
  const servers: http.Server[] = [];
  afterEach(() => {
    for (const server of servers.splice(0)) {
      server.closeAllConnections();
      server.close();
    }
  });

  it('proxies each path to the service the rules name', async () => {
    const query = await upstream((req, res) => res.end(`query saw ${req.url}`));
    const client = await upstream((req, res) => res.end(`client saw ${req.url}`));
    servers.push(query.server, client.server);
    const app = createGateway({ routeFor, targets: { query: query.url, client: client.url } });

    expect((await request(app).get('/posts/feed?limit=2')).text).toBe('query saw /posts/feed?limit=2');
    expect((await request(app).get('/assets/app.js')).text).toBe('client saw /assets/app.js');
  });

  it('asks a function target for the replica of each request', async () => {
    const first = await upstream((_req, res) => res.end('first'));
    const second = await upstream((_req, res) => res.end('second'));
    servers.push(first.server, second.server);
    let turn = 0;
    const app = createGateway({ routeFor, targets: { query: () => [first.url, second.url][turn++ % 2]! } });

    const answers = [
      (await request(app).get('/posts')).text,
      (await request(app).get('/posts')).text,
      (await request(app).get('/posts')).text,
    ];

    expect(answers).toEqual(['first', 'second', 'first']);
  });

  it('parses no body: JSON nested 5,000 deep reaches the service, whose shared parser refuses it with 400 before a route sees it', async () => {
    let reached = false;
    const service = createHttpApp({
      logger: silentLogger(),
      routes: (app) =>
        app.post('/posts/create', (_req, res) => {
          reached = true;
          res.status(201).json({});
        }),
    });
    const query = await upstream(service);
    servers.push(query.server);
    const app = createGateway({ routeFor, targets: { query: query.url } });

    const res = await request(app)
      .post('/posts/create')
      .set('content-type', 'application/json')
      .send(`{"title":"t","extra":${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}`);

    expect(res.status).toBe(400);
    expect(res.body).toEqual({ message: TOO_DEEP_MESSAGE });
    expect(reached).toBe(false);
  });

  it('answers nosniff on its own answers and on proxied ones whose service sent none', async () => {
    const bare = await upstream((_req, res) => res.end('<script>alert(1)</script>'));
    servers.push(bare.server);
    const app = createGateway({ routeFor, targets: { query: bare.url } });

    for (const res of [await request(app).get('/posts'), await request(app).get('/nowhere')])
      expect(res.headers['x-content-type-options']).toBe('nosniff');
  });

  it('answers 404 naming the path when no rule matches', async () => {
    const app = createGateway({ routeFor, targets: {} });
    const res = await request(app).get('/nowhere');
    expect(res.status).toBe(404);
    expect(res.body.message).toBe('/nowhere: no route');
  });

  it('answers 502 naming the service when it is down', async () => {
    const gone = await upstream(() => undefined);
    gone.server.close();
    const app = createGateway({ routeFor, targets: { query: gone.url } });

    const res = await request(app).get('/posts');

    expect(res.status).toBe(502);
    expect(res.body.message).toBe('query: unavailable, try again');
  });

  it('ends a live stream for the browser when the service behind it dies', async () => {
    const query = await upstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('event: hello\ndata: {}\n\n');
      setImmediate(() => res.socket?.destroy());
    });
    servers.push(query.server);
    const gateway = createGateway({ routeFor, targets: { query: query.url } }).listen(0, '127.0.0.1');
    servers.push(gateway);
    await once(gateway, 'listening');

    const ended = await new Promise((resolve, reject) => {
      const timer = setTimeout(resolve, 5000, 'still open after 5 s');
      http
        .get({ host: '127.0.0.1', port: (gateway.address() as AddressInfo).port, path: '/posts/stream' }, (res) => {
          // The browser sees the stream cut off ("aborted"), which is what makes EventSource reconnect.
          res.on('error', () => undefined);
          res.on('close', () => {
            clearTimeout(timer);
            resolve('closed');
          });
          res.resume();
        })
        .on('error', reject);
    });

    expect(ended).toBe('closed');
  });
});

/** Sends bytes as they are and collects the answer until the gateway closes the connection. */
function exchange(port: number, bytes: string): Promise<{ status: number; headers: string; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(Buffer.from(bytes, 'latin1')));
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
    socket.on('error', reject);
    socket.on('close', () => {
      const [headers = '', ...body] = answer.split('\r\n\r\n');
      resolve({ status: Number(headers.split(' ')[1] ?? 0), headers, body: body.join('\r\n\r\n') });
    });
  });
}

/** Every process of the registry with a public route: the gateway's upstreams. */
const SERVICES = SERVICE_NAMES.filter((name) => (REGISTRY[name] as ServiceEntry).routes.length > 0);
type Upstream = ServiceName;

/**
 * Hostile request targets, and where the gateway must send each (the service, and the path that
 * service receives) or the status it refuses it with, as ingress-nginx would.
 */
const HOSTILE: readonly (readonly [method: string, target: string, expected: readonly [Upstream, string] | number])[] =
  [
    ['PUT', '//admin/subscriptions/query/cursor', ['client', '/admin/subscriptions/query/cursor']],
    ['GET', '//admin/parked', ['client', '/admin/parked']],
    ['GET', '/%2Fadmin/parked', ['client', '/admin/parked']],
    ['POST', '/flow/../events', ['client', '/events']],
    ['POST', '/flow/%2e%2e/events', ['client', '/events']],
    ['POST', '/FLOW/%2E%2E/EVENTS', ['client', '/EVENTS']],
    ['GET', '/subscriptions/%2e%2e/admin/parked', ['client', '/admin/parked']],
    ['GET', '/subscriptions/..%2f..%2fadmin', 400],
    ['GET', '/..', 400],
    ['GET', '//a@/flow', ['client', '/a@/flow']],
    ['GET', '/%65vents?after=0', ['client', '/events?after=0']],
    ['GET', '/flow\\..\\events', ['event-bus', '/flow%5C..%5Cevents']],
    ['GET', '/flow/%5c..%5cevents', ['event-bus', '/flow/%5C..%5Cevents']],
    ['GET', '/x%00y', 400],
    ['GET', '/bad%zz', 400],
    ['GET', 'http://event-bus-srv:4005/admin/parked', 400],
    ['POST', 'http://localhost/events', 400],
    ['OPTIONS', '*', 400],
    ['GET', `/flow/${'a'.repeat(8200)}`, 414],
    ['GET', '/subscriptions', ['event-bus', '/subscriptions']],
    ['GET', '/flow?after=10&limit=50', ['event-bus', '/flow?after=10&limit=50']],
    ['GET', '/posts/a%20b/comments', ['comments', '/posts/a%20b/comments']],
  ];

describe('the gateway, given hostile request targets', () => {
  let gateway: http.Server;
  let port: number;
  const received: { service: Upstream; url: string }[] = [];
  const upstreams: http.Server[] = [];

  beforeAll(async () => {
    const targets: Record<string, string> = {};
    for (const service of SERVICES) {
      const { url, server } = await upstream((req, res) => {
        received.push({ service, url: req.url ?? '' });
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ service, url: req.url }));
      });
      upstreams.push(server);
      targets[service] = url;
    }
    gateway = createHttpServer(createGateway({ routeFor: ingressRouter(), targets })).listen(0, '127.0.0.1');
    await once(gateway, 'listening');
    port = (gateway.address() as AddressInfo).port;
  });
  afterAll(() => {
    for (const server of [gateway, ...upstreams]) {
      server.closeAllConnections();
      server.close();
    }
  });

  it.each(
    HOSTILE.map(
      ([method, target, expected]) =>
        [
          `${method} ${target.length > 60 ? `${target.slice(0, 20)}… (${target.length} bytes)` : target}`,
          method,
          target,
          expected,
        ] as const,
    ),
  )(
    '%s goes where ingress-nginx would send it, or is refused as nginx refuses it',
    async (_title, method, target, expected) => {
      const answer = await exchange(
        port,
        `${method} ${target} HTTP/1.1\r\nHost: posts.com\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
      );

      if (typeof expected === 'number') {
        expect({
          status: answer.status,
          json: answer.headers.toLowerCase().includes('content-type: application/json'),
        }).toEqual({ status: expected, json: true });
        expect(JSON.parse(answer.body)).toEqual({ message: expect.stringMatching(/^request target: /) });
      } else {
        expect(JSON.parse(answer.body)).toEqual({ service: expected[0], url: expected[1] });
      }
    },
  );

  it('sends the bus only its read-only views, whatever the path looked like', () => {
    const atTheBus = received.filter(({ service }) => service === 'event-bus').map(({ url }) => url);

    expect(atTheBus.length).toBeGreaterThan(0);
    // The prefixes of the Ingress's bus paths (`/flowers` would match too, as in nginx): the views listener answers the rest 404.
    expect(atTheBus.filter((url) => !/^\/(subscriptions|flow)/i.test(url))).toEqual([]);
  });

  it('answers a request line Node cannot parse (a raw NUL, spaces in the target) with a bare 400 and closes', async () => {
    for (const line of [
      'GET /flow\0/../events HTTP/1.1',
      'GET /a b/../admin HTTP/1.1',
      'GET /flow/../events HTTP/9.9',
    ]) {
      const answer = await exchange(port, `${line}\r\nHost: posts.com\r\n\r\n`);
      expect({ line, status: answer.status }).toEqual({ line, status: 400 });
    }
  });

  it('never shows a stack trace, even for an error of its own', async () => {
    const throwing = createGateway({
      routeFor: () => {
        throw new Error('a bug at /srv/launcher/src/gateway.ts:42');
      },
      targets: {},
    });

    const res = await request(throwing).get('/posts');

    expect(res.status).toBe(500);
    expect(res.body).toEqual({ message: 'internal error' });
  });

  it('cuts off a client that sends its headers, then stalls the body', async () => {
    // The service reads the whole body before it answers, as posts does.
    const posts = await upstream((req, res) => req.resume().on('end', () => res.end('{}')));
    const limits = { requestTimeoutMs: 300, headersTimeoutMs: 200, timeoutCheckIntervalMs: 50 };
    const slowSafe = createHttpServer(
      createGateway({ routeFor: () => 'posts', targets: { posts: posts.url } }),
      limits,
    ).listen(0, '127.0.0.1');
    upstreams.push(posts.server, slowSafe);
    await once(slowSafe, 'listening');

    const answer = await exchange(
      (slowSafe.address() as AddressInfo).port,
      'POST /posts/create HTTP/1.1\r\nHost: posts.com\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"title":',
    );

    expect(answer.status).toBe(408);
  });

  it('holds at most its per-address limit of connections from one client, and still serves another, forwarding the client address to the service', async () => {
    const query = await upstream((req, res) => res.end(String(req.headers['x-forwarded-for'])));
    const gateway = createHttpServer(createGateway({ routeFor, targets: { query: query.url } }), {
      maxConnectionsPerAddress: 2,
      timeoutCheckIntervalMs: 50,
    }).listen(0, '127.0.0.1');
    upstreams.push(query.server, gateway);
    await once(gateway, 'listening');
    const port = (gateway.address() as AddressInfo).port;
    const open = (from: string) => {
      const socket = connect({ port, host: '127.0.0.1', localAddress: from });
      socket.on('error', () => undefined);
      let received = '';
      socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
      return { socket, received: () => received, closed: once(socket, 'close') };
    };
    const held = [open('127.0.0.1'), open('127.0.0.1')];
    await Promise.all(held.map(({ socket }) => once(socket, 'connect')));
    await waitFor(
      () => new Promise<boolean>((resolve) => gateway.getConnections((_err, count) => resolve(count === 2))),
      'two connections from one client',
    );

    const refused = open('127.0.0.1');
    await refused.closed;
    const other = open('127.0.0.2');
    other.socket.write('GET /posts HTTP/1.1\r\nHost: posts.com\r\n\r\n');
    await waitFor(() => other.received().includes('127.0.0.2'), 'an answer to another client');

    expect(refused.received()).toBe('');
    for (const { socket } of [...held, other]) socket.destroy();
  });
});
