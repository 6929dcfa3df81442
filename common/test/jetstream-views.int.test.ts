import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { createHttpApp } from '../src/service/http-app';
import { startTestNatsServer, type TestNatsServer } from '../src/testing/nats-server';
import { waitFor } from '../src/testing/wait-for';
import { createLink } from '../src/transport/jetstream/link';
import { createJetStreamViews, type JetStreamViews } from '../src/transport/jetstream/views';
import { silentLogger as logger, transportMaker } from './support/jetstream';
import { RecordingSink } from './support/recording-sink';

jest.setTimeout(30_000);

describe('the read-only views on JetStream', () => {
  let nats: TestNatsServer;
  let views: JetStreamViews;
  let link: ReturnType<typeof createLink>;
  let app: ReturnType<typeof createHttpApp>;
  const { transport, closeAll } = transportMaker(() => nats);

  beforeAll(async () => {
    nats = await startTestNatsServer();
    link = createLink({
      servers: [nats.url],
      user: 'views',
      password: nats.passwords.views!,
      connectionName: 'views-test',
      streamReplicas: 1,
      timeoutMs: 5000,
      ensureStreams: false,
    });
    views = createJetStreamViews({ link: () => link.get(), logger, pollMs: 50 });
    app = createHttpApp({ logger, routes: (app) => app.use(views.router) });
  });
  afterAll(async () => {
    await closeAll();
    views.close();
    await link.close();
    await nats.stop();
  });

  const post = (n: number) => ({
    type: 'PostCreated' as const,
    id: `views-post-${n}`,
    data: { id: `vp${n}`, title: `secret title ${n}` },
  });

  it.each([
    ['post', '/events'],
    ['get', '/events'],
    ['post', '/subscriptions'],
    ['put', '/admin/subscriptions/query/cursor'],
    ['post', '/admin/subscriptions/query/parked/1/skip'],
    ['delete', '/flow'],
  ] as const)(
    'answers %s %s with 404: the views are read-only, and nothing reaches the stream',
    async (method, path) => {
      const head = async () => ((await request(app).get('/flow').expect(200)).body as { head: number }).head;
      const before = await head();
      const client = request(app);

      await client[method](path)
        .send({ type: 'PostCreated', data: { id: 'x', title: 'forged' }, cursor: 0 })
        .expect(404);

      expect(await head()).toBe(before);
    },
  );

  it("shows each replica's consumer: where it is, what it takes, and what it parked", async () => {
    const moderation = transport('moderation', 'views-a');
    const query = transport('query', 'views-b', { live: { maxDeliver: 1, redeliveryBackoffMs: [50] } });
    const moderationSink = new RecordingSink('moderation');
    const querySink = new RecordingSink('query');
    moderation.connect(moderationSink);
    query.connect(querySink);
    moderationSink.caughtUpAt(0);
    querySink.caughtUpAt(0);
    const posts = transport('posts', 'views-c');
    querySink.failures.set(1, 1);

    await posts.publish(post(1));
    const second = await posts.publish(post(2));
    await waitFor(
      () => query.liveStatus()?.parked === 1 && querySink.currentPosition === second.seq,
      'one parked, the next applied',
    );

    const res = await waitFor(async () => {
      const answer = await request(app).get('/subscriptions');
      const byName = new Map(
        (answer.body as { name: string; cursor: number; parked: number }[]).map((status) => [status.name, status]),
      );
      const durable = query.liveStatus()?.durable ?? '';
      return byName.get(durable)?.cursor === second.seq && byName.get(durable)?.parked === 1 ? answer : undefined;
    }, 'the consumers to show the deliveries');
    expect(res.body).toEqual([
      expect.objectContaining({
        name: moderation.liveStatus()!.durable,
        cursor: second.seq,
        head: second.seq,
        lag: 0,
        parked: 0,
        types: null,
        mode: 'park',
      }),
      expect.objectContaining({
        name: query.liveStatus()!.durable,
        cursor: second.seq,
        head: second.seq,
        lag: 0,
        parked: 1,
        types: null,
      }),
    ]);

    const durable = query.liveStatus()!.durable!;
    const listed = await request(app).get('/parked').query({ subscriber: 'query' }).expect(200);
    expect(listed.body).toEqual({
      parked: [
        {
          subscriber: durable,
          seq: second.seq - 1,
          id: 'views-post-1',
          type: 'PostCreated',
          attempts: 1,
          reason: expect.any(String),
          parkedAt: expect.any(String),
        },
      ],
    });
    expect(JSON.stringify(listed.body)).not.toContain('secret title');
    expect((await request(app).get('/parked').query({ subscriber: 'moderation' }).expect(200)).body).toEqual({
      parked: [],
    });
  });

  it('pages the flow of events as metadata, never their data', async () => {
    const res = await request(app).get('/flow').query({ after: 0, limit: 2 });

    expect(res.status).toBe(200);
    expect(res.body.events).toEqual([
      { seq: 1, type: 'PostCreated', id: 'views-post-1', time: expect.stringMatching(/^\d{4}-/), publisher: 'posts' },
      { seq: 2, type: 'PostCreated', id: 'views-post-2', time: expect.stringMatching(/^\d{4}-/), publisher: 'posts' },
    ]);
    expect(JSON.stringify(res.body)).not.toContain('secret title');
  });

  it("carries an event's traceparent, and answers it with its public payload, never a pending comment's content", async () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const comments = transport('comments', 'views-e');
    const stored = await comments.publish({
      type: 'CommentCreated',
      id: `views-comment-${Date.now()}`,
      data: { id: 'vc1', postId: 'vp1', content: 'a secret draft', status: 'pending' },
      traceparent,
    });

    const page = await comments.readLog({ after: stored.seq - 1, limit: 1 });
    expect(page.events[0]).toMatchObject({ seq: stored.seq, traceparent });
    const res = await request(app).get(`/flow/events/${stored.seq}`).expect(200);
    expect(res.body).toEqual({
      seq: stored.seq,
      type: 'CommentCreated',
      id: stored.id,
      time: expect.any(String),
      publisher: 'comments',
      traceId: '0af7651916cd43dd8448eb211c80319c',
      data: { id: 'vc1', postId: 'vp1', content: '', status: 'pending' },
    });
    expect(JSON.stringify(res.body)).not.toContain('secret draft');
    expect((await request(app).get('/flow/events/999999').expect(404)).body.message).toMatch(/^seq: /);
  });

  it('refuses a page size beyond the bound, naming the field', async () => {
    const res = await request(app).get('/flow').query({ limit: 1001 });

    expect(res.status).toBe(400);
    expect(res.body.message).toBe('limit: must be at most 1000');
  });

  it('streams each new event as it is stored', async () => {
    const server = http.createServer(app).listen(0, '127.0.0.1');
    await once(server, 'listening');
    const controller = new AbortController();
    try {
      const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/flow/stream`, {
        signal: controller.signal,
      });
      const reader = res.body!.getReader();
      let text = '';
      const stored = await waitFor(async () => {
        // The live consumer starts with the first client: publish until one event comes through.
        await transport('posts', 'views-d').publish(post(Date.now()));
        const { value } = await reader.read();
        text += new TextDecoder().decode(value);
        return text.includes('event: appended') ? text : undefined;
      }, 'an appended event on the stream');
      expect(stored).toMatch(
        /event: appended\ndata: \{"seq":\d+,"type":"PostCreated","id":"views-post-\d+","time":"[^"]+","publisher":"posts"\}/,
      );
      expect(stored).not.toContain('secret title');
    } finally {
      controller.abort();
      server.closeAllConnections();
      server.close();
    }
  });
});
