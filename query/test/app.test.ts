import { parseAdminVerifier, serviceAdminToken, serviceAdminVerifier } from '@mini-blog/common/auth';
import type { CommentStatus, NewEvent } from '@mini-blog/common/events';
import { DEFAULT_CORS_ORIGINS, DEFAULT_STREAM_LIMITS, silentLogger } from '@mini-blog/common/service';
import { MemoryBus, preflight, startOnMemoryBus } from '@mini-blog/common/testing';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { createApp } from '../src/app';
import { liveOptionsFrom, postCacheFrom, readConfig } from '../src/config';
import { MODERATED_POST } from './moderated-post';

/** A query service, started on a log that holds `events` (none unless given). */
const setup = (events: readonly NewEvent[] = []) =>
  startOnMemoryBus((bus) => createApp({ bus, logger: silentLogger() }), events);

const comment = <S extends CommentStatus>(id: string, postId: string, status: S) => ({
  id,
  postId,
  content: `text ${id}`,
  status,
});

describe('GET /posts', () => {
  it('answers the course map with pending and rejected content hidden', async () => {
    const { app, bus, consumer } = await setup();
    for (const event of MODERATED_POST.events) await bus.publish(event);
    await consumer.syncToHead();

    const res = await request(app).get('/posts');

    expect(res.status).toBe(200);
    expect(res.body).toEqual({ p1: MODERATED_POST.shown });
  });

  it('streams a large map completely', async () => {
    const { app, bus, consumer } = await setup();
    for (let i = 0; i < 3000; i += 1)
      await bus.publish({ type: 'PostCreated', data: { id: `p${i}`, title: `Post number ${i}` } });
    await consumer.syncToHead();

    const res = await request(app).get('/posts');

    expect(Object.keys(res.body)).toHaveLength(3000);
    expect(res.body.p2999).toEqual({ id: 'p2999', title: 'Post number 2999', comments: [] });
  });
});

describe('GET /posts/feed', () => {
  it('pages newest first and returns a cursor for the next page', async () => {
    const { app, bus, consumer } = await setup();
    for (let i = 1; i <= 3; i += 1) await bus.publish({ type: 'PostCreated', data: { id: `p${i}`, title: `T${i}` } });
    await consumer.syncToHead();

    const first = await request(app).get('/posts/feed?limit=2');
    const second = await request(app).get(`/posts/feed?limit=2&cursor=${first.body.nextCursor}`);

    expect(first.body.posts.map((p: { id: string }) => p.id)).toEqual(['p3', 'p2']);
    expect(second.body).toEqual({
      posts: [{ id: 'p1', title: 'T1', createdSeq: 1, version: 1, comments: [] }],
      nextCursor: null,
    });
  });

  it.each([
    ['limit=0', 'limit: must be at least 1'],
    ['limit=101', 'limit: must be at most 100'],
    ['limit=abc', 'limit: must be a number'],
    ['cursor=-5', 'cursor: must be greater than 0'],
  ])('rejects %s with 400 naming the parameter', async (query, message) => {
    const { app } = await setup();
    const res = await request(app).get(`/posts/feed?${query}`);
    expect(res.status).toBe(400);
    expect(res.body.message).toBe(message);
  });
});

describe('GET /posts/stream', () => {
  /** Opens the stream on a real socket and collects its events until `until` says stop. */
  async function readStream(
    app: http.RequestListener,
    headers: Record<string, string>,
    until: (events: { event: string; data: unknown; id?: string }[]) => boolean,
  ) {
    const server = http.createServer(app).listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      return await new Promise<{ event: string; data: unknown; id?: string }[]>((resolve, reject) => {
        const events: { event: string; data: unknown; id?: string }[] = [];
        const timer = setTimeout(() => reject(new Error(`stream: timed out with ${JSON.stringify(events)}`)), 20_000);
        http
          .get({ port, host: '127.0.0.1', path: '/posts/stream', headers }, (res) => {
            let buffer = '';
            res.setEncoding('utf8');
            res.on('data', (text: string) => {
              buffer += text;
              const blocks = buffer.split('\n\n');
              buffer = blocks.pop() ?? '';
              for (const block of blocks) {
                const fields = Object.fromEntries(
                  block
                    .split('\n')
                    .map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 2)]),
                );
                if (fields.event) events.push({ event: fields.event, data: JSON.parse(fields.data), id: fields.id });
              }
              if (until(events)) {
                clearTimeout(timer);
                res.destroy();
                resolve(events);
              }
            });
          })
          .on('error', reject);
      });
    } finally {
      server.closeAllConnections();
      server.close();
    }
  }

  it('says hello with the position, then sends each change as the whole post', async () => {
    const { app, bus, consumer } = await setup();
    await bus.publish({ type: 'PostCreated', data: { id: 'p1', title: 'Live' } });
    let saidHello!: () => void;
    const hello = new Promise<void>((resolve) => (saidHello = resolve));
    const events = readStream(app, {}, (seen) => {
      if (seen.some((e) => e.event === 'hello')) saidHello();
      return seen.some((e) => e.event === 'change');
    });
    // The change is applied only once the stream has said hello, so it comes as a change after it.
    await Promise.race([hello, events]);
    await consumer.syncToHead();

    expect(await events).toEqual([
      { event: 'hello', data: { position: 0 }, id: '0' },
      {
        event: 'change',
        data: { seq: 1, post: { id: 'p1', title: 'Live', createdSeq: 1, version: 1, comments: [] } },
        id: '1',
      },
    ]);
  });

  it('sends each post changed by a batch once, as the batch left it, in seq order', async () => {
    const { bus, consumer, live } = await setup();
    const publish = jest.spyOn(live, 'publish');
    await bus.publish({ type: 'PostCreated', data: { id: 'p1', title: 'One' } });
    await bus.publish({ type: 'PostCreated', data: { id: 'p2', title: 'Two' } });
    await bus.publish({ type: 'CommentCreated', data: comment('c1', 'p1', 'pending') });

    await consumer.syncToHead();

    expect(publish.mock.calls.map(([seq, json]) => [seq, JSON.parse(json)])).toEqual([
      [2, { id: 'p2', title: 'Two', createdSeq: 2, version: 2, comments: [] }],
      [
        3,
        { id: 'p1', title: 'One', createdSeq: 1, version: 3, comments: [{ id: 'c1', content: '', status: 'pending' }] },
      ],
    ]);
  });

  it('replays the changes a reconnecting client missed', async () => {
    const { app, bus, consumer } = await setup();
    await bus.publish({ type: 'PostCreated', data: { id: 'p1', title: 'One' } });
    await bus.publish({ type: 'PostCreated', data: { id: 'p2', title: 'Two' } });
    await consumer.syncToHead();

    const events = await readStream(app, { 'last-event-id': '1' }, (seen) => seen.length >= 2);

    expect(events.map((e) => [e.event, e.id])).toEqual([
      ['hello', '2'],
      ['change', '2'],
    ]);
  });

  it('tells a client to reload when what it missed is from before this instance started', async () => {
    const { app } = await setup([
      { type: 'PostCreated', data: { id: 'p1', title: 'Old' } },
      { type: 'PostCreated', data: { id: 'p2', title: 'Old too' } },
    ]);

    const events = await readStream(app, { 'last-event-id': '1' }, (seen) => seen.length >= 2);

    expect(events.map((e) => e.event)).toEqual(['hello', 'reset']);
  });

  it('tells a client that last saw an empty log to reload once this instance has events', async () => {
    const { app } = await setup([
      { type: 'PostCreated', data: { id: 'p1', title: 'Created while the client was away' } },
    ]);

    const events = await readStream(app, { 'last-event-id': '0' }, (seen) => seen.length >= 2);

    expect(events.map((e) => e.event)).toEqual(['hello', 'reset']);
  });

  it('tells a client that saw a log this instance does not have (started afresh) to reload', async () => {
    const { app } = await setup();

    const events = await readStream(app, { 'last-event-id': '42' }, (seen) => seen.length >= 2);

    expect(events.map((e) => e.event)).toEqual(['hello', 'reset']);
  });
});

describe('GET /posts/stream bounds', () => {
  it('answers one stream more than the set number with 503 and a message, and opens none', async () => {
    const bus = new MemoryBus();
    const { app, consumer, live } = createApp({
      bus,
      logger: silentLogger(),
      live: { limits: { ...DEFAULT_STREAM_LIMITS, maxStreams: 1 } },
    });
    await consumer.start();
    const server = http.createServer(app).listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    try {
      const first = http.get({ port, host: '127.0.0.1', path: '/posts/stream' });
      const [open] = (await once(first, 'response')) as [http.IncomingMessage];

      const refused = await request(app).get('/posts/stream');

      expect(open.statusCode).toBe(200);
      expect(refused.status).toBe(503);
      expect(refused.body.message).toMatch(/^stream: this instance already serves 1 live streams/);
      expect(live.clients).toBe(1);
      first.destroy();
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});

describe('config', () => {
  it('bounds the live stream by default', () => {
    const config = readConfig({});

    expect(liveOptionsFrom(config)).toEqual({
      limits: {
        maxStreams: 100,
        maxStreamsPerClient: 8,
        maxUnsentBytes: 1024 * 1024,
        heartbeatMs: 15_000,
        stallMs: 30_000,
      },
      proxies: expect.objectContaining({ entries: [] }),
      replayEvents: 5000,
      replayChars: 16 * 1024 * 1024,
    });
  });

  it('reads each bound from its variable', () => {
    const config = readConfig({
      STREAM_MAX_CLIENTS: '50',
      STREAM_MAX_PER_CLIENT: '4',
      STREAM_MAX_UNSENT_BYTES: '65536',
      TRUSTED_PROXIES: '127.0.0.1, 10.0.0.0/8',
      STREAM_REPLAY_EVENTS: '100',
      STREAM_REPLAY_CHARS: '1000000',
    });

    expect(liveOptionsFrom(config)).toEqual({
      limits: { maxStreams: 50, maxStreamsPerClient: 4, maxUnsentBytes: 65536, heartbeatMs: 15_000, stallMs: 30_000 },
      proxies: expect.objectContaining({ entries: ['127.0.0.1', '10.0.0.0/8'] }),
      replayEvents: 100,
      replayChars: 1_000_000,
    });
  });

  it.each(['gateway', '10.0.0.0/33', '127.0.0.1/8/8'])('refuses TRUSTED_PROXIES=%s naming the entry', (value) => {
    expect(() => readConfig({ TRUSTED_PROXIES: `127.0.0.1,${value}` })).toThrow(
      /^invalid configuration: TRUSTED_PROXIES\.1: must list IP addresses or CIDR ranges/,
    );
  });

  it('bounds the cache of posts by default, and reads its bounds from their variables', () => {
    expect(postCacheFrom(readConfig({}))).toEqual({ maxEntries: 10_000, maxChars: 8 * 1024 * 1024 });
    expect(postCacheFrom(readConfig({ POST_CACHE_ENTRIES: '0', POST_CACHE_CHARS: '4096' }))).toEqual({
      maxEntries: 0,
      maxChars: 4096,
    });
  });

  it.each([
    ['POST_CACHE_ENTRIES', '-1'],
    ['POST_CACHE_CHARS', 'lots'],
    ['STREAM_MAX_CLIENTS', '0'],
    ['STREAM_MAX_CLIENTS', 'many'],
    ['STREAM_MAX_PER_CLIENT', '0'],
    ['STREAM_MAX_UNSENT_BYTES', '100'],
    ['STREAM_REPLAY_EVENTS', '-1'],
    ['STREAM_REPLAY_CHARS', '1.5'],
  ])('refuses %s=%s with a message naming it', (name, value) => {
    expect(() => readConfig({ [name]: value })).toThrow(new RegExp(`^invalid configuration: ${name}: `));
  });
});

describe('its database', () => {
  it('answers from its file after a restart, having read from the log only the events after its checkpoint', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'query-test-'));
    try {
      const bus = new MemoryBus();
      await bus.publish({ type: 'PostCreated', data: { id: 'p1', title: 'Before' } });
      await bus.publish({ type: 'CommentCreated', data: comment('c1', 'p1', 'pending') });
      await bus.publish({ type: 'CommentUpdated', data: comment('c1', 'p1', 'approved') });
      const first = createApp({ bus, logger: silentLogger(), dataDir });
      await first.consumer.start();
      await first.close();
      await bus.publish({ type: 'PostCreated', data: { id: 'p2', title: 'While it was down' } });
      const readLog = jest.spyOn(bus, 'readLog');

      const second = createApp({ bus, logger: silentLogger(), dataDir });
      await second.consumer.start();
      const res = await request(second.app).get('/posts/feed');
      await second.close();

      expect(readLog).toHaveBeenCalled();
      expect(readLog.mock.calls.map(([options]) => options.after)).not.toContain(0);
      expect(res.body.posts).toEqual([
        { id: 'p2', title: 'While it was down', createdSeq: 4, version: 4, comments: [] },
        {
          id: 'p1',
          title: 'Before',
          createdSeq: 1,
          version: 3,
          comments: [{ id: 'c1', content: 'text c1', status: 'approved' }],
        },
      ]);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('POST /admin/rebuild on query', () => {
  const ADMIN_SECRET = 'a'.repeat(43);

  it('builds a new projection from the log while the feed answers, sends none of its changes live, then answers and streams from it', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'query-test-'));
    try {
      const bus = new MemoryBus();
      await bus.publish({ type: 'PostCreated', data: { id: 'p1', title: 'One' } });
      await bus.publish({ type: 'CommentCreated', data: comment('c1', 'p1', 'pending') });
      await bus.publish({ type: 'CommentUpdated', data: comment('c1', 'p1', 'approved') });
      const verifiers = parseAdminVerifier(serviceAdminVerifier([ADMIN_SECRET], 'query'));
      const service = createApp({ bus, logger: silentLogger(), dataDir, admin: { verifiers } });
      await service.consumer.start();
      const before = service.projection.model;
      const feed = (await request(service.app).get('/posts/feed')).body;
      const publish = jest.spyOn(service.live, 'publish');

      const anonymous = await request(service.app).post('/admin/rebuild');
      const started = await request(service.app)
        .post('/admin/rebuild')
        .set('authorization', `Bearer ${serviceAdminToken(ADMIN_SECRET, 'query')}`);
      await service.rebuilder.finished();
      const rebuilt = (await request(service.app).get('/posts/feed')).body;
      const sentDuringRebuild = publish.mock.calls.length;
      await bus.publish({ type: 'CommentCreated', data: comment('c2', 'p1', 'pending') });
      await service.consumer.syncToHead();
      await service.close();

      expect([anonymous.status, started.status]).toEqual([401, 202]);
      expect(service.projection.model).not.toBe(before);
      expect(rebuilt).toEqual(feed);
      expect(sentDuringRebuild).toBe(0);
      expect(publish.mock.calls.map(([seq, json]) => [seq, JSON.parse(json).comments.length])).toEqual([[4, 2]]);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('CORS', () => {
  it.each(['/posts', '/posts/feed', '/posts/stream'])(
    'answers the preflight of an allowed origin for GET %s',
    async (path) => {
      const { app } = createApp({ bus: new MemoryBus(), logger: silentLogger(), corsOrigins: DEFAULT_CORS_ORIGINS });

      const res = await preflight(app, path, 'GET');

      expect(res.status).toBe(204);
      expect(res.headers['access-control-allow-origin']).toBe('http://localhost:3000');
      expect(res.headers['access-control-allow-headers']).toContain('last-event-id');
    },
  );
});
