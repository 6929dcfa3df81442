import { BusUnavailableError, DEFAULT_CORS_ORIGINS, silentLogger } from '@mini-blog/common';
import { MemoryBus, preflight } from '@mini-blog/common/testing';
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
    const res = await request(app).post('/posts/create').send({ title: 'x', padding: 'y'.repeat(200_000) });
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

    expect([...restarted.state.posts.values()].map((p) => p.title)).toEqual(['Kept']);
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
