import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import request from 'supertest';
import { createHttpApp } from '../src/service/http-app';
import { silentLogger } from '../src/service/logger';
import { ProxyTrust } from '../src/service/client-address';
import { createHttpServer, listen, runService, type RunningService } from '../src/service/run-service';
import { waitFor } from '../src/testing';

const signals = ['SIGTERM', 'SIGINT'] as const;
let listenersBefore: Map<NodeJS.Signals, NodeJS.SignalsListener[]>;
let running: RunningService | undefined;

beforeEach(() => {
  listenersBefore = new Map(signals.map((signal) => [signal, process.listeners(signal)]));
});

afterEach(async () => {
  await running?.stop();
  running = undefined;
  // runService installs its signal handlers for the life of a process; a test process outlives it.
  for (const signal of signals) {
    for (const listener of process.listeners(signal)) {
      if (!listenersBefore.get(signal)?.includes(listener)) process.removeListener(signal, listener);
    }
  }
});

describe('runService', () => {
  it('listens on a free port when asked for port 0, and serves the app', async () => {
    const app = createHttpApp({ logger: silentLogger(), routes: () => undefined });

    running = await runService({ app, port: 0, host: '127.0.0.1', logger: silentLogger() });
    const res = await request(`http://127.0.0.1:${running.port}`).get('/healthz');

    expect(running.port).toBeGreaterThan(0);
    expect(res.status).toBe(200);
  });

  it('runs onListening once the port is open', async () => {
    const app = createHttpApp({ logger: silentLogger(), routes: () => undefined });
    let answeredDuringStartup: number | undefined;

    running = await runService({
      app,
      port: 0,
      host: '127.0.0.1',
      logger: silentLogger(),
      onListening: async () => {
        // runService calls this before it returns the port to the test: let it return first.
        await new Promise(setImmediate);
        answeredDuringStartup = (await request(`http://127.0.0.1:${running!.port}`).get('/healthz')).status;
      },
    });
    await waitFor(() => answeredDuringStartup !== undefined, 'onListening');

    expect(answeredDuringStartup).toBe(200);
  });

  it('lets an in-flight request finish, then runs onShutdown', async () => {
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    let started = false;
    const order: string[] = [];
    const app = createHttpApp({
      logger: silentLogger(),
      routes: (a) =>
        a.get('/slow', async (_req, res) => {
          started = true;
          await released;
          order.push('answered');
          res.json({ done: true });
        }),
    });
    running = await runService({
      app,
      port: 0,
      host: '127.0.0.1',
      logger: silentLogger(),
      onShutdown: () => void order.push('shutdown'),
    });
    const inFlight = request(`http://127.0.0.1:${running.port}`)
      .get('/slow')
      .then((res) => res);
    await waitFor(() => started, 'the request to start');

    const stopping = running.stop();
    release();
    const [res] = await Promise.all([inFlight, stopping]);

    expect(res.status).toBe(200);
    expect(order).toEqual(['answered', 'shutdown']);
    expect(running.server.listening).toBe(false);
  });

  it('stops once however often stop is called', async () => {
    const app = createHttpApp({ logger: silentLogger(), routes: () => undefined });
    let shutdowns = 0;
    running = await runService({
      app,
      port: 0,
      host: '127.0.0.1',
      logger: silentLogger(),
      onShutdown: () => void (shutdowns += 1),
    });

    await Promise.all([running.stop(), running.stop()]);
    await running.stop();

    expect(shutdowns).toBe(1);
  });
});

/** A raw connection that records what the server sends and when it closes the connection. */
class RawClient {
  received = '';
  readonly closed: Promise<void>;
  private readonly socket: Socket;

  /** `from`: the local address to connect from (any of 127.0.0.0/8 reaches a listener on 127.0.0.1). */
  constructor(port: number, from = '127.0.0.1') {
    this.socket = connect({ port, host: '127.0.0.1', localAddress: from });
    this.socket.on('data', (chunk: Buffer) => (this.received += chunk.toString('latin1')));
    this.socket.on('error', () => undefined);
    this.closed = once(this.socket, 'close').then(() => undefined);
  }

  async connected(): Promise<this> {
    if (this.socket.connecting) await once(this.socket, 'connect');
    return this;
  }

  send(text: string): this {
    this.socket.write(text);
    return this;
  }

  /** Stops reading: what the server sends stays in the sockets' buffers, then in the server. */
  stopReading(): this {
    this.socket.pause();
    return this;
  }

  resumeReading(): this {
    this.socket.resume();
    return this;
  }

  get isClosed(): boolean {
    return this.socket.closed;
  }

  destroy(): void {
    this.socket.destroy();
  }
}

describe('the limits of every listener', () => {
  const limits = { headersTimeoutMs: 300, requestTimeoutMs: 600, timeoutCheckIntervalMs: 50, maxConnections: 3 };
  const clients: RawClient[] = [];
  const client = (port: number, from?: string) => {
    const raw = new RawClient(port, from);
    clients.push(raw);
    return raw.connected();
  };
  afterEach(() => {
    for (const raw of clients.splice(0)) raw.destroy();
  });

  /** A live stream that writes one event each time `push` is called. */
  function streamingApp() {
    const streams = new Set<ServerResponse>();
    const app = createHttpApp({
      logger: silentLogger(),
      routes: (a) => {
        a.get('/stream', (_req, res) => {
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          res.write(': open\n\n');
          streams.add(res);
          res.on('close', () => streams.delete(res));
        });
        a.post('/echo', (req, res) => res.json(req.body));
      },
    });
    return { app, push: (data: string) => streams.forEach((res) => res.write(`data: ${data}\n\n`)) };
  }

  it('listens on the address it is given', async () => {
    running = await runService({ app: streamingApp().app, port: 0, host: '127.0.0.1', logger: silentLogger() });

    expect(running.server.address()).toMatchObject({ address: '127.0.0.1', family: 'IPv4' });
  });

  it("fails to start on an address that is not this machine's", async () => {
    await expect(listen(createHttpServer(streamingApp().app), 0, '192.0.2.1')).rejects.toThrow(/EADDRNOTAVAIL/);
  });

  it('answers 408 and closes the connection of a client that sends its headers, then stalls the body', async () => {
    running = await runService({ app: streamingApp().app, port: 0, host: '127.0.0.1', logger: silentLogger(), limits });
    const attacker = await client(running.port);

    attacker.send(
      'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"a":',
    );
    await attacker.closed;

    expect(attacker.received).toMatch(/^HTTP\/1\.1 408 Request Timeout/);
  });

  it('closes the connection of a client that stops in the middle of its headers', async () => {
    running = await runService({ app: streamingApp().app, port: 0, host: '127.0.0.1', logger: silentLogger(), limits });
    const attacker = await client(running.port);

    attacker.send('GET /healthz HTTP/1.1\r\nHost: x\r\n');
    await attacker.closed;

    expect(attacker.received).toMatch(/^HTTP\/1\.1 408 Request Timeout/);
  });

  it('closes a connection that never sends a byte', async () => {
    running = await runService({ app: streamingApp().app, port: 0, host: '127.0.0.1', logger: silentLogger(), limits });
    const silent = await client(running.port);

    await silent.closed;

    expect(silent.received).toMatch(/^HTTP\/1\.1 408 Request Timeout/);
  });

  it('keeps a live stream open long after the request timeout, and keeps writing to it', async () => {
    const { app, push } = streamingApp();
    running = await runService({ app, port: 0, host: '127.0.0.1', logger: silentLogger(), limits });
    const reader = await client(running.port);
    reader.send('GET /stream HTTP/1.1\r\nHost: x\r\n\r\n');
    await waitFor(() => reader.received.includes(': open'), 'the stream to open');

    // A request that started after the stream and is cut off by the request timeout: by then the
    // stream is older than that timeout, and the check has looked at it too.
    const slow = await client(running.port);
    slow.send('POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10\r\n\r\n');
    await slow.closed;
    push('after the timeout');
    await waitFor(() => reader.received.includes('data: after the timeout'), 'the event written after the timeout');

    expect(reader.isClosed).toBe(false);
  });

  it('serves as many connections as its limit, and closes the next one at once', async () => {
    running = await runService({ app: streamingApp().app, port: 0, host: '127.0.0.1', logger: silentLogger(), limits });
    const open = await Promise.all([client(running.port), client(running.port), client(running.port)]);
    await waitFor(
      () => new Promise<boolean>((resolve) => running!.server.getConnections((_err, count) => resolve(count === 3))),
      'three connections',
    );

    const refused = await client(running.port);
    await refused.closed;
    open[0]!.send('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    await waitFor(() => open[0]!.received.includes('"status":"ok"'), 'an answer on a connection within the limit');

    expect(refused.received).toBe('');
  });

  it('serves as many connections from one address as its per-address limit, closes the next at once, and still serves another address', async () => {
    running = await runService({
      app: streamingApp().app,
      port: 0,
      host: '127.0.0.1',
      logger: silentLogger(),
      limits: { ...limits, maxConnections: 10, maxConnectionsPerAddress: 3 },
    });
    const held = await Promise.all([1, 2, 3].map(() => client(running!.port, '127.0.0.1')));
    await waitFor(
      () => new Promise<boolean>((resolve) => running!.server.getConnections((_err, count) => resolve(count === 3))),
      'three connections from 127.0.0.1',
    );

    const refused = await client(running.port, '127.0.0.1');
    await refused.closed;
    const other = await client(running.port, '127.0.0.2');
    other.send('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    await waitFor(() => other.received.includes('"status":"ok"'), 'an answer to another address');
    held[0]!.send('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    await waitFor(() => held[0]!.received.includes('"status":"ok"'), 'an answer within the per-address limit');

    expect(refused.received).toBe('');
    // Once one closes, the address may open another.
    held[1]!.destroy();
    await waitFor(
      () => new Promise<boolean>((resolve) => running!.server.getConnections((_err, count) => resolve(count === 3))),
      'the closed connection to be gone',
    );
    const again = await client(running.port, '127.0.0.1');
    again.send('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    await waitFor(() => again.received.includes('"status":"ok"'), 'a new connection once one closed');
  });

  it("does not bound a trusted proxy's connections per address (each carries many clients)", async () => {
    running = await runService({
      app: streamingApp().app,
      port: 0,
      host: '127.0.0.1',
      logger: silentLogger(),
      limits: { ...limits, maxConnections: 10, maxConnectionsPerAddress: 2 },
      proxies: new ProxyTrust(['127.0.0.3']),
    });
    const proxied = await Promise.all([1, 2, 3, 4].map(() => client(running!.port, '127.0.0.3')));

    for (const connection of proxied) connection.send('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    await waitFor(
      () => proxied.every((connection) => connection.received.includes('"status":"ok"')),
      'an answer on each of four connections from the proxy',
    );
  });

  it('closes the connection of a client that never reads its answer, once the answer has waited unsent for the stall timeout', async () => {
    const big = 'x'.repeat(8 * 1024 * 1024);
    const app = createHttpApp({
      logger: silentLogger(),
      routes: (a) => a.get('/big', (_req, res) => void res.send(big)),
    });
    running = await runService({
      app,
      port: 0,
      host: '127.0.0.1',
      logger: silentLogger(),
      limits: { ...limits, responseStallTimeoutMs: 300 },
    });
    const reader = await client(running.port, '127.0.0.1');
    const staller = (await client(running.port, '127.0.0.2')).stopReading();

    staller.send('GET /big HTTP/1.1\r\nHost: x\r\n\r\n');
    reader.send('GET /big HTTP/1.1\r\nHost: x\r\n\r\n');
    await waitFor(() => reader.received.length > big.length, 'the whole answer to the client that reads');
    // The server closes its side; a client that does not read does not see it until it reads.
    await waitFor(
      () => new Promise<boolean>((resolve) => running!.server.getConnections((_err, count) => resolve(count === 1))),
      "the server to close the staller's connection",
    );
    staller.resumeReading();
    await staller.closed;

    expect(staller.received.length).toBeLessThan(big.length);
    expect(reader.isClosed).toBe(false);
  });
});
