import { DEFAULT_CORS_ORIGINS, silentLogger } from '@mini-blog/common/service';
import { BusUnavailableError } from '@mini-blog/common/transport';
import { expectRefusedCharacter, MemoryBus, preflight } from '@mini-blog/common/testing';
import request from 'supertest';
import { createApp } from '../src/app';

async function setup() {
  const bus = new MemoryBus();
  const service = createApp({ bus, logger: silentLogger() });
  await service.consumer.start();
  return { bus, ...service };
}

describe('POST /posts/create', () => {
  it('answers 201 with the post once PostCreated is in the log', async () => {
    const { app, bus } = await setup();

    const res = await request(app).post('/posts/create').send({ title: 'First post' });

    expect(res.status).toBe(201);
    expect(res.body).toEqual({ id: expect.any(String), title: 'First post' });
    expect(bus.ofType('PostCreated').map((e) => e.data)).toEqual([{ id: res.body.id, title: 'First post' }]);
  });

  it('trims the title', async () => {
    const { app } = await setup();
    const res = await request(app).post('/posts/create').send({ title: '  spaced  ' });
    expect(res.body.title).toBe('spaced');
  });

  it.each([
    ['a missing title', {}, 'title: is required'],
    ['an empty title', { title: '' }, 'title: must not be empty'],
    ['a blank title', { title: '   ' }, 'title: must not be empty'],
    ['a number', { title: 42 }, 'title: must be a string'],
    ['an array', { title: ['a'] }, 'title: must be a string'],
    ['a title over 200 characters', { title: 'x'.repeat(201) }, 'title: must be at most 200 characters'],
  ])('rejects %s with 400 naming the field', async (_label, body, message) => {
    const { app, bus } = await setup();

    const res = await request(app).post('/posts/create').send(body);

    expect(res.status).toBe(400);
    expect(res.body.message).toBe(message);
    expect(res.body.fields).toHaveProperty('title');
    expect(bus.log).toHaveLength(0);
  });

  it.each([
    ['a right-to-left override', 'ab\u202eegnaro', 'U+202E at 3'],
    ['nested overrides', '\u202eeg\u202enaro', 'U+202E at 1'],
    ['an interlinear annotation character', 'or\ufff9ange', 'U+FFF9 at 3'],
    ['a control character inside a word', 'or\u0007ange', 'U+0007 at 3'],
  ])(
    'refuses a title with %s with 422 naming the field, the rule and the character, storing nothing',
    async (_label, title, where) => {
      const { app, bus } = await setup();

      const res = await request(app).post('/posts/create').send({ title });

      expectRefusedCharacter(res, 'title', where);
      expect(bus.log).toHaveLength(0);
    },
  );

  it('rejects malformed JSON with 400', async () => {
    const { app } = await setup();
    const res = await request(app).post('/posts/create').set('content-type', 'application/json').send('{"title":');
    expect(res.status).toBe(400);
    expect(res.body.message).toBe('body: must be valid JSON');
  });

  it('rejects a non-JSON body with 415', async () => {
    const { app } = await setup();
    const res = await request(app).post('/posts/create').set('content-type', 'text/plain').send('title=x');
    expect(res.status).toBe(415);
    expect(res.body.message).toMatch(/content-type/);
  });

  it('rejects a body over the limit with 413', async () => {
    const { app, bus } = await setup();
    const res = await request(app)
      .post('/posts/create')
      .send({ title: 'x', padding: 'y'.repeat(200_000) });
    expect(res.status).toBe(413);
    expect(bus.log).toHaveLength(0);
  });

  it('answers 503 and stores nothing when the bus is unavailable', async () => {
    const { app, bus } = await setup();
    bus.failWith = new BusUnavailableError('connection refused');

    const res = await request(app).post('/posts/create').send({ title: 'lost?' });

    expect(res.status).toBe(503);
    expect(res.body.message).toMatch(/event-bus: unavailable/);
    expect(bus.log).toHaveLength(0);
  });
});

describe('GET /posts', () => {
  async function withPosts(count: number) {
    const service = await setup();
    for (let i = 1; i <= count; i += 1)
      await service.bus.publish({
        type: 'PostCreated',
        id: `PostCreated:p${i}`,
        data: { id: `p${i}`, title: `T${i}` },
      });
    await service.consumer.syncToHead();
    return service;
  }

  it('answers the course map of the first 100 posts, oldest first, and links to the next page', async () => {
    const { app } = await withPosts(101);

    const res = await request(app).get('/posts');

    expect(res.status).toBe(200);
    expect(Object.keys(res.body)).toHaveLength(100);
    expect(res.body.p1).toEqual({ id: 'p1', title: 'T1' });
    expect(res.body.p101).toBeUndefined();
    expect(res.headers.link).toBe('</posts?limit=100&cursor=100>; rel="next"');
  });

  it('follows the links page by page to every post, and the last page has no link', async () => {
    const { app } = await withPosts(5);
    const seen: string[] = [];
    let next: string | undefined = '/posts?limit=2';
    let pages = 0;

    while (next !== undefined) {
      const res = await request(app).get(next);
      seen.push(...Object.keys(res.body));
      next = /^<([^>]+)>; rel="next"$/.exec(res.headers.link ?? '')?.[1];
      pages += 1;
    }

    expect(seen).toEqual(['p1', 'p2', 'p3', 'p4', 'p5']);
    expect(pages).toBe(3);
  });

  it('answers exactly `limit` posts without a link when no more follow', async () => {
    const { app } = await withPosts(2);

    const res = await request(app).get('/posts?limit=2');

    expect(Object.keys(res.body)).toEqual(['p1', 'p2']);
    expect(res.headers.link).toBeUndefined();
  });

  it.each([
    ['limit=0', 'limit: must be at least 1'],
    ['limit=1001', 'limit: must be at most 1000'],
    ['limit=x', 'limit: '],
    ['cursor=-1', 'cursor: '],
    ['cursor=1.5', 'cursor: '],
  ])('refuses ?%s with 400 naming the parameter', async (queryString, message) => {
    const { app } = await withPosts(1);

    const res = await request(app).get(`/posts?${queryString}`);

    expect(res.status).toBe(400);
    expect(res.body.message.startsWith(message)).toBe(true);
  });

  it('lists the posts rebuilt from the log', async () => {
    const { app, consumer } = await setup();
    const created = await request(app).post('/posts/create').send({ title: 'Hello' });
    await consumer.syncToHead();

    const res = await request(app).get('/posts');

    expect(res.status).toBe(200);
    expect(res.body).toEqual({ [created.body.id]: { id: created.body.id, title: 'Hello' } });
  });

  it('survives a restart: a new instance rebuilds the same posts from the log', async () => {
    const { app, bus } = await setup();
    await request(app).post('/posts/create').send({ title: 'Kept' });

    const restarted = createApp({ bus, logger: silentLogger() });
    await restarted.consumer.start();

    expect(restarted.projection.model.page(0, 10).map((post) => post.title)).toEqual(['Kept']);
  });
});

describe('health', () => {
  it('is not ready before it has caught up with the log', async () => {
    const { app } = createApp({ bus: new MemoryBus(), logger: silentLogger() });
    expect((await request(app).get('/readyz')).status).toBe(503);
    expect((await request(app).get('/healthz')).status).toBe(200);
  });
});

describe('POST /posts/create with an Idempotency-Key', () => {
  it('creates the post once when the same request is sent again', async () => {
    const { app, bus } = await setup();

    const first = await request(app).post('/posts/create').set('idempotency-key', 'form-1').send({ title: 'Once' });
    const again = await request(app).post('/posts/create').set('idempotency-key', 'form-1').send({ title: 'Once' });

    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    expect(bus.ofType('PostCreated')).toHaveLength(1);
  });

  it('creates two posts for two keys', async () => {
    const { app, bus } = await setup();
    await request(app).post('/posts/create').set('idempotency-key', 'a').send({ title: 'One' });
    await request(app).post('/posts/create').set('idempotency-key', 'b').send({ title: 'Two' });
    expect(bus.ofType('PostCreated')).toHaveLength(2);
  });

  it('answers 422 naming the key when it is sent again with another title, and the first post stands', async () => {
    const { app, bus } = await setup();
    const first = await request(app)
      .post('/posts/create')
      .set('idempotency-key', 'form-1')
      .send({ title: 'First title' });

    const reused = await request(app)
      .post('/posts/create')
      .set('idempotency-key', 'form-1')
      .send({ title: 'Another title' });
    const retried = await request(app)
      .post('/posts/create')
      .set('idempotency-key', 'form-1')
      .send({ title: 'First title' });

    expect(reused.status).toBe(422);
    expect(reused.body.message).toMatch(
      /^idempotency-key: form-1 was used before with a different request body; the first request stands/,
    );
    expect(reused.body.fields).toHaveProperty('idempotency-key');
    expect(bus.ofType('PostCreated').map((e) => e.data)).toEqual([{ id: first.body.id, title: 'First title' }]);
    expect(retried.status).toBe(201);
    expect(retried.body).toEqual(first.body);
  });

  it('rejects a malformed key with 400 naming the header', async () => {
    const { app, bus } = await setup();

    const res = await request(app).post('/posts/create').set('idempotency-key', 'has spaces').send({ title: 'x' });

    expect(res.status).toBe(400);
    expect(res.body.message).toMatch(/^idempotency-key: must be 1 to 100 letters/);
    expect(bus.log).toHaveLength(0);
  });
});

describe('CORS', () => {
  it('answers the preflight of an allowed origin on POST /posts/create, and of no other', async () => {
    const { app } = createApp({ bus: new MemoryBus(), logger: silentLogger(), corsOrigins: DEFAULT_CORS_ORIGINS });

    const allowed = await preflight(app, '/posts/create', 'POST');
    const other = await preflight(app, '/posts/create', 'POST', 'https://evil.example');

    expect(allowed.status).toBe(204);
    expect(allowed.headers['access-control-allow-origin']).toBe('http://localhost:3000');
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });
});
