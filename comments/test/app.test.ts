import type { Envelope } from '@mini-blog/common/events';
import { DEFAULT_CORS_ORIGINS, silentLogger } from '@mini-blog/common/service';
import { expectRefusedCharacter, MemoryBus, preflight, waitFor } from '@mini-blog/common/testing';
import request from 'supertest';
import { createApp } from '../src/app';
import { postComment } from './support';

async function setup() {
  const bus = new MemoryBus();
  const service = createApp({ bus, logger: silentLogger() });
  await service.consumer.start();
  return { bus, ...service };
}

async function withPost(bus: MemoryBus, id = 'p1') {
  await bus.publish({ type: 'PostCreated', id: `PostCreated:${id}`, data: { id, title: 'A post' } });
  return id;
}

/** Waits until the outbox has published what the last applied event caused. */
const published = (bus: MemoryBus, type: Envelope['type'], count: number) =>
  waitFor(() => bus.ofType(type).length >= count, `${count} ${type} in the log`);

describe('POST /posts/:id/comments', () => {
  it('answers 201 with the post comments, the new one pending and its content hidden', async () => {
    const { app, bus } = await setup();
    const postId = await withPost(bus);

    const res = await request(app).post(`/posts/${postId}/comments`).send({ content: 'Nice post' });

    expect(res.status).toBe(201);
    expect(res.body).toEqual([{ id: expect.any(String), content: '', status: 'pending' }]);
    expect(bus.ofType('CommentCreated').map((e) => e.data)).toEqual([
      { id: res.body[0].id, postId, content: 'Nice post', status: 'pending' },
    ]);
  });

  it('accepts a comment on a post that is in the log but not yet delivered here', async () => {
    const { app, bus, projection } = await setup();
    const postId = await withPost(bus);
    expect(projection.model.hasPost(postId)).toBe(false);

    const res = await request(app).post(`/posts/${postId}/comments`).send({ content: 'First!' });

    expect(res.status).toBe(201);
  });

  it.each([
    ['nested right-to-left overrides (shown as "orange")', '\u202eeg\u202enaro', 'U+202E at 1'],
    ['an isolate', 'x\u2067y', 'U+2067 at 2'],
    ['an annotation terminator', 'or\ufffbange', 'U+FFFB at 3'],
    ['a C1 control inside a word', 'or\u009bange', 'U+009B at 3'],
  ])(
    'refuses a comment with %s with 422 naming the field, the rule and the character, storing nothing',
    async (_label, content, where) => {
      const { app, bus } = await setup();
      const postId = await withPost(bus);

      const res = await request(app).post(`/posts/${postId}/comments`).send({ content });

      expectRefusedCharacter(res, 'content', where);
      expect(bus.ofType('CommentCreated')).toHaveLength(0);
    },
  );

  it('answers 404 for a post that is not in the log', async () => {
    const { app, bus } = await setup();

    const res = await request(app).post('/posts/nope/comments').send({ content: 'Hello?' });

    expect(res.status).toBe(404);
    expect(res.body.message).toBe('post nope: not found');
    expect(bus.ofType('CommentCreated')).toHaveLength(0);
  });

  it.each([
    ['a missing content', {}, 'content: is required'],
    ['an empty content', { content: '' }, 'content: must not be empty'],
    ['a blank content', { content: ' \n ' }, 'content: must not be empty'],
    ['a number', { content: 7 }, 'content: must be a string'],
    ['content over 1000 characters', { content: 'x'.repeat(1001) }, 'content: must be at most 1000 characters'],
  ])('rejects %s with 400 naming the field', async (_label, body, message) => {
    const { app, bus } = await setup();
    const postId = await withPost(bus);

    const res = await request(app).post(`/posts/${postId}/comments`).send(body);

    expect(res.status).toBe(400);
    expect(res.body.message).toBe(message);
    expect(bus.ofType('CommentCreated')).toHaveLength(0);
  });

  it('rejects a post id over 100 characters with 400', async () => {
    const { app } = await setup();
    const res = await request(app)
      .post(`/posts/${'x'.repeat(101)}/comments`)
      .send({ content: 'hi' });
    expect(res.status).toBe(400);
    expect(res.body.message).toBe('id: must be at most 100 characters');
  });

  it('rejects malformed JSON with 400 and an oversized body with 413', async () => {
    const { app, bus } = await setup();
    const postId = await withPost(bus);
    const malformed = await request(app)
      .post(`/posts/${postId}/comments`)
      .set('content-type', 'application/json')
      .send('{');
    const oversized = await request(app)
      .post(`/posts/${postId}/comments`)
      .send({ content: 'x', pad: 'y'.repeat(200_000) });
    expect(malformed.status).toBe(400);
    expect(oversized.status).toBe(413);
  });

  it('refuses a comment past the per-post limit with 409', async () => {
    const { app, bus, consumer } = await setup();
    const postId = await withPost(bus);
    for (let i = 0; i < 500; i += 1) {
      await bus.publish({
        type: 'CommentCreated',
        id: `c${i}`,
        data: { id: `c${i}`, postId, content: 'x', status: 'pending' },
      });
    }
    await consumer.syncToHead();

    const res = await request(app).post(`/posts/${postId}/comments`).send({ content: 'one too many' });

    expect(res.status).toBe(409);
    expect(res.body.message).toMatch(/limit of 500 comments/);
  });
});

describe('GET /posts/:id/comments', () => {
  it('lists comments with content only once approved', async () => {
    const { app, bus, consumer } = await setup();
    const postId = await withPost(bus);
    const data = (id: string) => ({ id, postId, content: `text ${id}` });
    await bus.publish({ type: 'CommentCreated', data: { ...data('a'), status: 'pending' } });
    await bus.publish({ type: 'CommentCreated', data: { ...data('b'), status: 'pending' } });
    await bus.publish({ type: 'CommentCreated', data: { ...data('c'), status: 'pending' } });
    await bus.publish({ type: 'CommentModerated', data: { ...data('a'), status: 'approved' } });
    await bus.publish({ type: 'CommentModerated', data: { ...data('b'), status: 'rejected' } });
    await consumer.syncToHead();

    const res = await request(app).get(`/posts/${postId}/comments`);

    expect(res.body).toEqual([
      { id: 'a', content: 'text a', status: 'approved' },
      { id: 'b', content: '', status: 'rejected' },
      { id: 'c', content: '', status: 'pending' },
    ]);
  });

  it('answers an empty list for a post without comments', async () => {
    const { app } = await setup();
    const res = await request(app).get('/posts/unknown/comments');
    expect(res.status).toBe(200);
    expect(res.body).toEqual([]);
  });
});

describe('moderation results', () => {
  const created = { id: 'c1', postId: 'p1', content: 'hi', status: 'pending' as const };
  const moderated = { ...created, status: 'approved' as const };

  it('publish one CommentUpdated per comment and status, even when delivered twice', async () => {
    const { bus, consumer } = await setup();
    await bus.publish({ type: 'CommentCreated', data: created });
    const result = await bus.publish({ type: 'CommentModerated', data: moderated });
    await consumer.syncToHead();
    await published(bus, 'CommentUpdated', 1);

    await consumer.deliver([bus.log[result.seq - 1]!]);

    expect(bus.ofType('CommentUpdated').map((e) => e.data)).toEqual([moderated]);
  });

  it('are not published again by a restarted instance', async () => {
    const { bus, consumer } = await setup();
    await bus.publish({ type: 'CommentCreated', data: created });
    await bus.publish({ type: 'CommentModerated', data: moderated });
    await consumer.syncToHead();
    await published(bus, 'CommentUpdated', 1);
    const headBefore = bus.head;

    const restarted = createApp({ bus, logger: silentLogger() });
    await restarted.consumer.start();

    expect(restarted.consumer.pendingReactions).toBe(0);
    expect(bus.head).toBe(headBefore);
  });
});

describe('POST /posts/:id/comments with an Idempotency-Key', () => {
  it('creates the comment once, and answers the same list, when the request is sent again', async () => {
    const { app, bus, consumer } = await setup();
    const postId = await withPost(bus);

    const first = await postComment(app, postId, 'hi', 'k1');
    await consumer.syncToHead();
    const again = await postComment(app, postId, 'hi', 'k1');

    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    expect(bus.ofType('CommentCreated')).toHaveLength(1);
  });

  it('gives the same key on two posts two different comments', async () => {
    const { app, bus } = await setup();
    await withPost(bus, 'p1');
    await withPost(bus, 'p2');
    await postComment(app, 'p1', 'a', 'same');
    await postComment(app, 'p2', 'b', 'same');
    expect(new Set(bus.ofType('CommentCreated').map((e) => e.data.id)).size).toBe(2);
  });
});

describe('CORS', () => {
  it.each(['GET', 'POST'] as const)(
    'answers the preflight of an allowed origin for %s /posts/:id/comments',
    async (method) => {
      const { app } = createApp({ bus: new MemoryBus(), logger: silentLogger(), corsOrigins: DEFAULT_CORS_ORIGINS });

      const res = await preflight(app, '/posts/p1/comments', method, 'http://localhost:5173');

      expect(res.status).toBe(204);
      expect(res.headers['access-control-allow-origin']).toBe('http://localhost:5173');
    },
  );
});
