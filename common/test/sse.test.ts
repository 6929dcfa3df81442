import { once } from 'node:events';
import { get, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHttpApp } from '../src/service/http-app';
import { silentLogger } from '../src/service/logger';
import { openEventStream, type EventStream } from '../src/sse';
import { waitFor } from '../src/testing';

/** A server with one SSE route; `opened` holds the server side of each stream. */
async function startServer(heartbeatMs?: number) {
  const opened: EventStream[] = [];
  let closes = 0;
  const app = createHttpApp({
    logger: silentLogger(),
    routes: (a) =>
      a.get('/stream', (req, res) => {
        opened.push(openEventStream(req, res, () => (closes += 1), heartbeatMs));
      }),
  });
  const server: Server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/stream`;
  return { server, url, opened, closes: () => closes };
}

/** A client that keeps what it has read so far. */
async function connect(url: string) {
  const request = get(url);
  const [response] = (await once(request, 'response')) as [IncomingMessage];
  let text = '';
  response.setEncoding('utf8');
  response.on('data', (chunk: string) => (text += chunk));
  return { response, text: () => text, disconnect: () => request.destroy() };
}

let server: Server | undefined;

afterEach(async () => {
  if (!server) return;
  server.closeAllConnections();
  server.close();
  await once(server, 'close');
  server = undefined;
});

describe('openEventStream', () => {
  it('answers 200 with the SSE headers: event stream, no caching, no proxy buffering', async () => {
    const started = await startServer();
    server = started.server;

    const { response } = await connect(started.url);

    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(response.headers['cache-control']).toMatch(/^no-cache\b/);
    expect(response.headers['x-accel-buffering']).toBe('no');
  });

  it('tells the browser how long to wait before reconnecting', async () => {
    const started = await startServer();
    server = started.server;

    const client = await connect(started.url);
    await waitFor(() => client.text().length > 0, 'the first bytes');

    expect(client.text()).toBe('retry: 2000\n\n');
  });

  it('frames a message as id, event and data lines ended by a blank line', async () => {
    const started = await startServer();
    server = started.server;
    const client = await connect(started.url);
    await waitFor(() => started.opened.length === 1, 'the stream to open');

    started.opened[0]!.send('change', { seq: 7, post: { id: 'p1' } }, 7);
    await waitFor(() => client.text().includes('data: '), 'the message');

    expect(client.text()).toBe('retry: 2000\n\nid: 7\nevent: change\ndata: {"seq":7,"post":{"id":"p1"}}\n\n');
  });

  it('leaves out the id line of a message without an id', async () => {
    const started = await startServer();
    server = started.server;
    const client = await connect(started.url);
    await waitFor(() => started.opened.length === 1, 'the stream to open');

    started.opened[0]!.send('hello', { position: 0 });
    await waitFor(() => client.text().includes('data: '), 'the message');

    expect(client.text()).toBe('retry: 2000\n\nevent: hello\ndata: {"position":0}\n\n');
  });

  it('sends data already serialised as it is', async () => {
    const started = await startServer();
    server = started.server;
    const client = await connect(started.url);
    await waitFor(() => started.opened.length === 1, 'the stream to open');

    started.opened[0]!.sendRaw('change', '{"seq":8}', 8);
    await waitFor(() => client.text().includes('data: '), 'the message');

    expect(client.text()).toContain('id: 8\nevent: change\ndata: {"seq":8}\n\n');
  });

  it('sends a comment line as a heartbeat', async () => {
    const started = await startServer(10);
    server = started.server;

    const client = await connect(started.url);
    await waitFor(() => client.text().includes(': keep-alive\n\n'), 'a heartbeat');

    expect(client.text().startsWith('retry: 2000\n\n')).toBe(true);
  });

  it('calls onClose when the client goes away, and sends nothing after', async () => {
    const started = await startServer();
    server = started.server;
    const client = await connect(started.url);
    await waitFor(() => started.opened.length === 1, 'the stream to open');
    const stream = started.opened[0]!;

    client.disconnect();
    await waitFor(() => started.closes() === 1, 'onClose');

    expect(stream.closed).toBe(true);
    expect(() => stream.send('change', { seq: 9 }, 9)).not.toThrow();
  });
});
