import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { createGateway } from '../src/gateway';

/** A real upstream on a free loopback port. */
async function upstream(handler: http.RequestListener): Promise<{ url: string; server: http.Server }> {
  const server = http.createServer(handler).listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

const routeFor = (path: string) => (path.startsWith('/posts') ? 'query' : path.startsWith('/nowhere') ? undefined : 'client');

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
