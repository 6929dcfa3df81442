import { once } from 'node:events';
import { get, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Request } from 'express';
import { createHttpApp } from '../src/service/http-app';
import { ProxyTrust } from '../src/service/client-address';
import { silentLogger } from '../src/service/logger';
import {
  DEFAULT_STREAM_LIMITS,
  EventStreams,
  lastEventId,
  type EventStream,
  type EventStreamLimits,
} from '../src/service/sse';
import { fakeExchange, waitFor } from '../src/testing';

/** A server with one SSE route; `opened` holds the server side of each stream. */
async function startServer(limits: Partial<EventStreamLimits> = {}, proxies?: ProxyTrust) {
  const opened: EventStream[] = [];
  let closes = 0;
  const streams = new EventStreams({ ...DEFAULT_STREAM_LIMITS, ...limits }, proxies);
  const app = createHttpApp({
    logger: silentLogger(),
    routes: (a) =>
      a.get('/stream', (req, res) => {
        opened.push(streams.accept(req, res, () => (closes += 1)));
      }),
  });
  const server: Server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/stream`;
  return { server, url, opened, streams, closes: () => closes };
}

/** A client that keeps what it has read so far, connecting from `from` (any of 127.0.0.0/8), with `headers`. */
async function connect(
  url: string,
  { from = '127.0.0.1', headers = {} }: { from?: string; headers?: Record<string, string> } = {},
) {
  const request = get(url, { localAddress: from, headers });
  const [response] = (await once(request, 'response')) as [IncomingMessage];
  let text = '';
  let ended = false;
  response.setEncoding('utf8');
  response.on('data', (chunk: string) => (text += chunk));
  response.on('close', () => (ended = true));
  return { response, text: () => text, ended: () => ended, disconnect: () => request.destroy() };
}

let server: Server | undefined;

afterEach(async () => {
  if (!server) return;
  server.closeAllConnections();
  server.close();
  await once(server, 'close');
  server = undefined;
});

describe('EventStreams.accept', () => {
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
    const started = await startServer({ heartbeatMs: 10 });
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
    expect(stream.send('change', { seq: 9 }, 9)).toBe(false);
  });
});

describe('the bound on streams open at once', () => {
  it('answers the stream beyond it with 503, a message and Retry-After, and takes one again once a stream closes', async () => {
    const started = await startServer({ maxStreams: 2 });
    server = started.server;
    const first = await connect(started.url);
    await connect(started.url);

    const refused = await connect(started.url);
    await waitFor(() => refused.ended(), 'the refusal to end');

    expect(refused.response.statusCode).toBe(503);
    expect(refused.response.headers['retry-after']).toBe('10');
    expect(JSON.parse(refused.text())).toEqual({
      message: 'stream: this instance already serves 2 live streams, the most it serves at once; try again later',
    });
    expect(started.streams.size).toBe(2);

    first.disconnect();
    await waitFor(() => started.streams.size === 1, 'the closed stream to be counted out');
    const again = await connect(started.url);

    expect(again.response.statusCode).toBe(200);
    expect(started.streams.size).toBe(2);
  });
});

describe('the bound on streams per client', () => {
  it('answers 429 naming the client and the rule beyond its streams, and still opens one for another client', async () => {
    const started = await startServer({ maxStreams: 10, maxStreamsPerClient: 2 });
    server = started.server;
    await connect(started.url, { from: '127.0.0.1' });
    await connect(started.url, { from: '127.0.0.1' });

    const third = await connect(started.url, { from: '127.0.0.1' });
    const other = await connect(started.url, { from: '127.0.0.2' });
    await waitFor(() => third.ended(), 'the refused answer to end');

    expect(third.response.statusCode).toBe(429);
    expect(JSON.parse(third.text())).toEqual({
      message:
        'stream: 127.0.0.1 already has 2 live streams open here, the most one client may; close one or try again later',
    });
    expect(other.response.statusCode).toBe(200);
    expect(started.streams.size).toBe(3);
  });

  it('takes a new stream from the client once one of its streams closes', async () => {
    const started = await startServer({ maxStreams: 10, maxStreamsPerClient: 1 });
    server = started.server;
    const first = await connect(started.url);
    first.disconnect();
    await waitFor(() => started.closes() === 1, 'the first stream to close');

    expect((await connect(started.url)).response.statusCode).toBe(200);
  });

  it('behind a trusted proxy, bounds each forwarded client apart; from anyone else, X-Forwarded-For is ignored', async () => {
    const started = await startServer({ maxStreams: 10, maxStreamsPerClient: 1 }, new ProxyTrust(['127.0.0.1']));
    server = started.server;
    const via = (client: string) => ({ from: '127.0.0.1', headers: { 'x-forwarded-for': client } });

    const first = await connect(started.url, via('203.0.113.1'));
    const second = await connect(started.url, via('203.0.113.2'));
    // A client that writes its own X-Forwarded-For before the proxy's entry does not become someone else.
    const spoofed = await connect(started.url, via('198.51.100.9, 203.0.113.1'));
    const untrusted = await connect(started.url, { from: '127.0.0.2', headers: { 'x-forwarded-for': '203.0.113.3' } });
    const sameUntrusted = await connect(started.url, {
      from: '127.0.0.2',
      headers: { 'x-forwarded-for': '203.0.113.4' },
    });

    expect([first, second, spoofed, untrusted, sameUntrusted].map((client) => client.response.statusCode)).toEqual([
      200, 200, 429, 200, 429,
    ]);
  });
});

describe('a client that stops reading', () => {
  it('is dropped once bytes have waited unsent for the stall time, however far under the bound on unsent bytes', async () => {
    const started = await startServer({ stallMs: 200, maxUnsentBytes: 512 * 1024 * 1024 });
    server = started.server;
    const client = await connect(started.url);
    await waitFor(() => started.opened.length === 1, 'the stream to open');
    client.response.pause();

    const chunk = 'x'.repeat(256 * 1024);
    // Until the sockets' buffers are full and Node holds the rest.
    await waitFor(() => {
      started.opened[0]!.send('m', chunk);
      return started.opened[0]!.closed || started.closes() === 1;
    }, 'the stream to be dropped');

    expect(started.closes()).toBe(1);
    expect(started.streams.size).toBe(0);
  });
});

describe('the bound on unsent bytes', () => {
  const limits = { ...DEFAULT_STREAM_LIMITS, maxUnsentBytes: 1000 };
  const message = (bytes: number) => 'x'.repeat(bytes - 'event: m\ndata: \n\n'.length);

  it('sends a message that brings the unsent bytes exactly to the bound', () => {
    const { req, res, response, written } = fakeExchange();
    const stream = new EventStreams(limits).accept(req, response);
    res.writableLength = 600;

    expect(stream.sendRaw('m', message(400))).toBe(true);
    expect(written).toHaveLength(2);
    expect(res.destroyed).toBe(false);
  });

  it('drops the client, and calls onClose, when a message would take the unsent bytes one past the bound', () => {
    const { req, res, response, written } = fakeExchange();
    let closes = 0;
    const streams = new EventStreams(limits);
    const stream = streams.accept(req, response, () => (closes += 1));
    res.writableLength = 601;

    expect(stream.sendRaw('m', message(400))).toBe(false);
    expect(written).toHaveLength(1);
    expect(res.destroyed).toBe(true);
    expect(stream.closed).toBe(true);
    expect(closes).toBe(1);
    expect(streams.size).toBe(0);
  });

  it('sends a message larger than the bound to a client that has read everything', () => {
    const { req, res, response } = fakeExchange();
    const stream = new EventStreams(limits).accept(req, response);
    res.writableLength = 0;

    expect(stream.sendRaw('m', message(5000))).toBe(true);
    expect(res.destroyed).toBe(false);
  });

  it('drops a real client that stops reading, and its connection ends', async () => {
    const started = await startServer({ maxUnsentBytes: 64 * 1024 });
    server = started.server;
    const client = await connect(started.url);
    client.response.pause();
    await waitFor(() => started.opened.length === 1, 'the stream to open');
    const stream = started.opened[0]!;
    const chunk = JSON.stringify('y'.repeat(16 * 1024));

    let sent = 0;
    while (sent < 10_000 && stream.sendRaw('change', chunk, sent)) {
      sent += 1;
      if (sent % 64 === 0) await new Promise((resolve) => setImmediate(resolve));
    }

    expect(stream.closed).toBe(true);
    expect(sent).toBeLessThan(10_000);
    await waitFor(
      () => started.closes() === 1 && started.streams.size === 0,
      'the dropped stream to be closed and counted out',
    );
    client.response.resume();
    await waitFor(() => client.ended(), 'the client to see the connection end');
  });
});

describe('sendPaced', () => {
  it('sends a replay many times the bound to a client that reads it, without dropping it', async () => {
    const started = await startServer({ maxUnsentBytes: 16 * 1024 });
    server = started.server;
    const client = await connect(started.url);
    await waitFor(() => started.opened.length === 1, 'the stream to open');
    const chunk = JSON.stringify('z'.repeat(8 * 1024));

    for (let seq = 1; seq <= 200; seq += 1) expect(await started.opened[0]!.sendPaced('change', chunk, seq)).toBe(true);
    await waitFor(() => client.text().includes('id: 200\n'), 'the whole replay');

    expect(client.text().match(/^event: change$/gm)).toHaveLength(200);
  });
});

describe('lastEventId', () => {
  const withHeader = (value: string | undefined) => ({ header: () => value }) as unknown as Request;

  it.each([
    [undefined, undefined],
    ['', undefined],
    ['0', 0],
    [' 42 ', 42],
    ['-1', undefined],
    ['1e3', undefined],
    ['0x10', undefined],
    ['9007199254740993', undefined],
    ['12345678901234567', undefined],
    ['abc', undefined],
  ])('reads %j as %j', (header, expected) => {
    expect(lastEventId(withHeader(header))).toBe(expected);
  });
});
