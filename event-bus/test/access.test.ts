import { once } from 'node:events';
import { createServer, request as httpRequest, type IncomingMessage } from 'node:http';
import { text } from 'node:stream/consumers';
import type { AddressInfo } from 'node:net';
import type { NewEvent } from '@mini-blog/common/events';
import { SUBSCRIBER_NAMES } from '@mini-blog/common/registry';
import { DEFAULT_STREAM_LIMITS } from '@mini-blog/common/service';
import { waitFor } from '@mini-blog/common/testing';
import request from 'supertest';
import { DEFAULT_PUBLISH_ACL, parsePublishAcl } from '../src/config';
import { FakeSubscriber, listen, openTestBus, postCreated, secretOf, subscriber, type TestBus } from './helpers';

const commentCreated: NewEvent = {
  type: 'CommentCreated',
  data: { id: 'c1', postId: 'post-1', content: 'hi', status: 'pending' },
};
const commentModerated: NewEvent = {
  type: 'CommentModerated',
  data: { id: 'c1', postId: 'post-1', content: 'hi', status: 'approved' },
};

/** How a request presents itself: a principal's token, another Authorization header, or none. */
type Credential = { principal: string } | { header: string } | 'none';

const NO_TOKEN = 'none' as const;
const WRONG_TOKEN = { header: `Bearer ${'w'.repeat(43)}` };
const as = (principal: string): Credential => ({ principal });

/** The registry's services as subscribers (all reachable), the registry's table of who publishes what, and a publisher that subscribes to nothing. */
describe('who may call the bus API', () => {
  let fake: FakeSubscriber;
  let bus: TestBus;
  beforeAll(async () => {
    fake = await new FakeSubscriber().start();
  });
  afterAll(() => fake.stop());
  beforeEach(() => {
    bus = openTestBus(
      SUBSCRIBER_NAMES.map((name) => subscriber(name, fake.url)),
      { acl: parsePublishAcl(`${DEFAULT_PUBLISH_ACL},importer=PostCreated`) },
    );
  });
  afterEach(() => bus.close());

  function send(credential: Credential, method: 'get' | 'post' | 'put', path: string, body?: unknown) {
    let req = request(bus.app)[method](path);
    if (credential !== NO_TOKEN)
      req = req.set(
        'authorization',
        'principal' in credential ? `Bearer ${secretOf(credential.principal)}` : credential.header,
      );
    return body === undefined ? req : req.send(body as object);
  }

  const refusals: [string, Credential, 'get' | 'post' | 'put', string, unknown, number, string][] = [
    ['no token', NO_TOKEN, 'post', '/events', postCreated(1), 401, 'authorization: is required (Bearer <token>)'],
    [
      'another scheme',
      { header: `Basic ${Buffer.from('posts:x').toString('base64')}` },
      'post',
      '/events',
      postCreated(1),
      401,
      'authorization: must be "Bearer <token>"',
    ],
    ['a wrong token', WRONG_TOKEN, 'post', '/events', postCreated(1), 401, 'authorization: the token is not valid'],
    [
      'a wrong token, in a batch',
      WRONG_TOKEN,
      'post',
      '/events',
      [postCreated(1)],
      401,
      'authorization: the token is not valid',
    ],
    [
      'a subscriber publishing',
      as('query'),
      'post',
      '/events',
      postCreated(1),
      403,
      'type: query may not publish PostCreated',
    ],
    [
      'posts publishing CommentModerated',
      as('posts'),
      'post',
      '/events',
      commentModerated,
      403,
      'type: posts may not publish CommentModerated',
    ],
    [
      'comments publishing CommentModerated',
      as('comments'),
      'post',
      '/events',
      commentModerated,
      403,
      'type: comments may not publish CommentModerated',
    ],
    [
      'a batch with one forbidden type',
      as('comments'),
      'post',
      '/events',
      [commentCreated, postCreated(1)],
      403,
      'type: comments may not publish PostCreated',
    ],
    [
      "posts publishing under the key of a post's comments (it would block them)",
      as('posts'),
      'post',
      '/events',
      { ...postCreated(1), key: 'comments:post-1', expectedLastSeq: 0 },
      403,
      'key: posts may not publish PostCreated under comments:post-1',
    ],
    [
      'comments publishing a key it owns on another type',
      as('comments'),
      'post',
      '/events',
      { ...commentCreated, type: 'CommentUpdated', key: 'comments:post-1' },
      403,
      'key: comments may not publish CommentUpdated under comments:post-1',
    ],
    [
      'comments publishing under a key outside its prefix',
      as('comments'),
      'post',
      '/events',
      { ...commentCreated, key: 'posts:post-1' },
      403,
      'key: comments may not publish CommentCreated under posts:post-1',
    ],
    [
      'comments publishing under its bare prefix',
      as('comments'),
      'post',
      '/events',
      { ...commentCreated, key: 'comments:' },
      403,
      'key: comments may not publish CommentCreated under comments:',
    ],
    [
      'a principal outside the registry publishing under a key',
      as('importer'),
      'post',
      '/events',
      { ...postCreated(1), key: 'comments:post-1' },
      403,
      'key: importer may not publish PostCreated under comments:post-1',
    ],
    [
      'a batch with one foreign key',
      as('posts'),
      'post',
      '/events',
      [postCreated(1), { ...postCreated(2), key: 'comments:post-2' }],
      403,
      'key: posts may not publish PostCreated under comments:post-2',
    ],
    [
      'admin publishing',
      as('admin'),
      'post',
      '/events',
      postCreated(1),
      403,
      'type: admin may not publish PostCreated',
    ],
    ['no token reading the log', NO_TOKEN, 'get', '/events', undefined, 401, 'authorization: is required'],
    ['no token reading a page', NO_TOKEN, 'get', '/events?after=0', undefined, 401, 'authorization: is required'],
    [
      'a publisher that subscribes to nothing reading the log',
      as('importer'),
      'get',
      '/events?after=0',
      undefined,
      403,
      'authorization: importer may not read the log',
    ],
    ['no token on an admin route', NO_TOKEN, 'get', '/admin/parked', undefined, 401, 'authorization: is required'],
    [
      'a service token on an admin route',
      as('posts'),
      'get',
      '/admin/parked',
      undefined,
      403,
      'authorization: posts may not use the admin routes',
    ],
    [
      'a service token moving a cursor',
      as('query'),
      'put',
      '/admin/subscriptions/query/cursor',
      { cursor: 0 },
      403,
      'authorization: query may not use the admin routes',
    ],
    [
      'a service token skipping a parked event',
      as('moderation'),
      'post',
      '/admin/subscriptions/moderation/parked/1/skip',
      undefined,
      403,
      'authorization: moderation may not',
    ],
    ['no token on an unknown route', NO_TOKEN, 'get', '/nope', undefined, 401, 'authorization: is required'],
    ['no token on a view', NO_TOKEN, 'get', '/subscriptions', undefined, 401, 'authorization: is required'],
  ];

  it.each(refusals)('refuses %s, storing nothing', async (_case, credential, method, path, body, status, message) => {
    const res = await send(credential, method, path, body).expect(status);

    expect(res.body.message).toContain(message);
    if (status === 401) expect(res.headers['www-authenticate']).toBe('Bearer');
    expect(bus.bus.store.head).toBe(0);
  });

  it("leaves a post's comment key where it was when posts tries to publish under it: comments' condition still holds", async () => {
    await send(as('posts'), 'post', '/events', { ...postCreated(1), key: 'comments:post-1' }).expect(403);

    const own = await send(as('comments'), 'post', '/events', {
      ...commentCreated,
      key: 'comments:post-1',
      expectedLastSeq: 0,
    }).expect(201);
    expect(own.body).toMatchObject({ seq: 1 });
  });

  const allowed: [string, Credential, 'get' | 'post', string, unknown, number][] = [
    ['posts publishing PostCreated', as('posts'), 'post', '/events', postCreated(1), 201],
    [
      'comments publishing a batch of its own types',
      as('comments'),
      'post',
      '/events',
      [commentCreated, { ...commentCreated, type: 'CommentUpdated' }],
      201,
    ],
    ['moderation publishing CommentModerated', as('moderation'), 'post', '/events', commentModerated, 201],
    [
      "comments publishing CommentCreated under its post's key",
      as('comments'),
      'post',
      '/events',
      { ...commentCreated, key: 'comments:post-1', expectedLastSeq: 0 },
      201,
    ],
    ['a subscriber reading the log', as('query'), 'get', '/events', undefined, 200],
    ['a subscriber reading a page', as('moderation'), 'get', '/events?after=0', undefined, 200],
    ['admin reading the log', as('admin'), 'get', '/events?after=0', undefined, 200],
    ['admin listing parked events', as('admin'), 'get', '/admin/parked', undefined, 200],
    ['anyone asking for liveness', NO_TOKEN, 'get', '/healthz', undefined, 200],
    ['anyone asking for readiness', NO_TOKEN, 'get', '/readyz', undefined, 200],
  ];

  it.each(allowed)('lets %s through', async (_case, credential, method, path, body, status) => {
    await send(credential, method, path, body).expect(status);
  });

  // Which of two headers counts differs between proxies and servers; a valid one beside another must not be picked.
  it.each([
    ['a valid token first, another after', () => [`Bearer ${secretOf('posts')}`, WRONG_TOKEN.header]],
    ['another first, a valid token after', () => [WRONG_TOKEN.header, `Bearer ${secretOf('posts')}`]],
    ['the same valid token twice', () => [`Bearer ${secretOf('posts')}`, `Bearer ${secretOf('posts')}`]],
  ])('refuses two Authorization headers (%s) with 400, storing nothing', async (_case, headers) => {
    const server = await listen(bus.app);
    try {
      // Raw header pairs: fetch would join the two values into one line.
      const body = JSON.stringify(postCreated(1));
      const raw = [
        'host',
        new URL(server.url).host,
        ...headers().flatMap((value) => ['authorization', value]),
        'content-type',
        'application/json',
        'content-length',
        String(Buffer.byteLength(body)),
      ];
      const req = httpRequest(`${server.url}/events`, { method: 'POST', headers: raw });
      req.end(body);
      const [res] = (await once(req, 'response')) as [IncomingMessage];
      const answer = await text(res);

      expect([res.statusCode, JSON.parse(answer).message]).toEqual([400, 'authorization: must be sent once']);
      expect(bus.bus.store.head).toBe(0);
    } finally {
      await server.close();
    }
  });

  it('refuses a caller without a valid token before reading its body: 401, not 400 for bad JSON or 413 for a huge body', async () => {
    const badJson = await request(bus.app)
      .post('/events')
      .set('content-type', 'application/json')
      .send('{"type":')
      .expect(401);
    const huge = await request(bus.app)
      .post('/events')
      .set('authorization', WRONG_TOKEN.header)
      .send({ padding: 'x'.repeat(2_000_000) })
      .expect(401);

    expect([badJson.body.message, huge.body.message]).toEqual([
      'authorization: is required (Bearer <token>)',
      'authorization: the token is not valid',
    ]);
    expect(bus.bus.store.head).toBe(0);
  });

  it('accepts every secret of a principal file, so that its token can be rotated', async () => {
    const rotating = openTestBus([], {
      principals: { posts: ['posts-next-secret-'.padEnd(43, 'n'), secretOf('posts')] },
    });
    try {
      await request(rotating.app)
        .post('/events')
        .set('authorization', `Bearer ${'posts-next-secret-'.padEnd(43, 'n')}`)
        .send(postCreated(1))
        .expect(201);
      await request(rotating.app)
        .post('/events')
        .set('authorization', `Bearer ${secretOf('posts')}`)
        .send(postCreated(2))
        .expect(201);
    } finally {
      await rotating.close();
    }
  });

  it('does not serve the read-only views on the main port, even to admin', async () => {
    for (const path of ['/subscriptions', '/flow', '/flow?after=0', '/flow/stream', '/metrics']) {
      expect((await bus.as('admin').get(path).expect(404)).body.message).toContain('no such route');
    }
  });

  it('leaves the cursor where it was after a refused admin change', async () => {
    await bus.as('posts').post('/events').send(postCreated(1)).expect(201);
    await waitFor(
      () => bus.bus.fanOut.statuses().every((status) => status.lag === 0),
      'every subscriber to be delivered',
    );

    await bus.as('query').put('/admin/subscriptions/query/cursor').send({ cursor: 0 }).expect(403);

    expect(bus.bus.fanOut.statuses().find((status) => status.name === 'query')).toMatchObject({ cursor: 1 });
  });
});

describe('the read-only views listener', () => {
  let fake: FakeSubscriber;
  let bus: TestBus;
  beforeEach(async () => {
    fake = await new FakeSubscriber().start();
    bus = openTestBus([subscriber('query', fake.url), subscriber('moderation', fake.url)]);
  });
  afterEach(async () => {
    await bus.close();
    await fake.stop();
  });

  it.each([
    ['post', '/events', 405],
    ['put', '/admin/subscriptions/query/cursor', 405],
    ['post', '/admin/subscriptions/query/parked/1/skip', 405],
    ['delete', '/subscriptions', 405],
    ['post', '/subscriptions', 405],
    ['post', '/flow', 405],
    ['get', '/events', 404],
    ['get', '/events?after=0', 404],
    ['get', '/admin/parked', 404],
  ] as const)('refuses %s %s with %i, even with the admin token, and changes nothing', async (method, path, status) => {
    const views = request(bus.views);
    await views[method](path)
      .set('authorization', `Bearer ${secretOf('admin')}`)
      .send({ type: 'PostCreated', data: { id: 'p', title: 't' }, cursor: 0 })
      .expect(status);

    expect(bus.bus.store.head).toBe(0);
  });

  it('answers the views to anyone, without a token', async () => {
    for (const path of ['/subscriptions', '/flow', '/metrics', '/healthz'])
      await request(bus.views).get(path).expect(200);
  });

  it('shows no subscriber URL and none of a subscriber answer, only a short reason', async () => {
    const leak = '{"error":"at internal-host.cluster.local:9999 (stack trace)"}';
    const [failing, down] = [await new FakeSubscriber().start(), await new FakeSubscriber().start()];
    await down.stop();
    failing.respond = () => 500;
    failing.answerBody = leak;
    const leaky = openTestBus([subscriber('query', failing.url), subscriber('moderation', down.url)]);
    try {
      await leaky.as('posts').post('/events').send(postCreated(1)).expect(201);
      await waitFor(
        () => leaky.bus.fanOut.statuses().every((status) => status.attempts > 0),
        'failed deliveries to both subscribers',
      );

      const { text } = await request(leaky.views).get('/subscriptions').expect(200);

      expect(text).not.toMatch(/http|127\.0\.0\.1|internal-host|stack/);
      expect((JSON.parse(text) as { lastError: string }[]).map((status) => status.lastError)).toEqual([
        'HTTP 500',
        'connection refused',
      ]);
    } finally {
      await leaky.close();
      await failing.stop();
    }
  });

  it('says "timeout" for a subscriber that does not answer in time', async () => {
    const silent = createServer(() => undefined);
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    const hanging = openTestBus(
      [subscriber('query', `http://127.0.0.1:${(silent.address() as AddressInfo).port}/events`)],
      { timeoutMs: 100 },
    );
    try {
      await hanging.as('posts').post('/events').send(postCreated(1)).expect(201);

      const status = await waitFor(() => hanging.bus.fanOut.statuses()[0]!.lastError ?? undefined, 'a failed delivery');

      expect(status).toBe('timeout');
    } finally {
      await hanging.close();
      silent.closeAllConnections();
      silent.close();
    }
  });

  it('answers a 404 for an unknown subscriber naming only the one asked for', async () => {
    const res = await bus.as('admin').get('/admin/parked?subscriber=nobody').expect(404);

    expect(res.body).toEqual({ message: 'subscriber: nobody is not configured' });
  });
});

describe('/flow/stream bounds', () => {
  it('answers 503 beyond the most streams open at once, and takes a new one once one closes', async () => {
    const bus = openTestBus([], {
      streamLimits: { ...DEFAULT_STREAM_LIMITS, maxStreams: 2, maxUnsentBytes: 64 * 1024 },
    });
    const server = await listen(bus.views);
    const open = () => fetch(`${server.url}/flow/stream`, { signal: AbortSignal.timeout(5000) });
    try {
      const first = await open();
      const second = await open();

      const third = await open();
      expect([first.status, second.status, third.status]).toEqual([200, 200, 503]);
      expect(((await third.json()) as { message: string }).message).toContain('stream:');

      await first.body!.cancel();
      const again = await waitFor(async () => {
        const res = await open();
        if (res.status === 200) return res;
        await res.body?.cancel();
        return undefined;
      }, 'a stream to be accepted again');
      await again.body!.cancel();
      await second.body!.cancel();
    } finally {
      await server.close();
      await bus.close();
    }
  });
});
