import { silentLogger } from '@mini-blog/common/service';
import { MemoryBus, waitFor } from '@mini-blog/common/testing';
import request from 'supertest';
import { createApp } from '../src/app';
import { readConfig } from '../src/config';

const comment = (id: string, content: string) => ({ id, postId: 'p1', content, status: 'pending' as const });

async function setup(bus = new MemoryBus()) {
  const service = createApp({ bus, logger: silentLogger(), blockedWords: ['orange'] });
  await service.consumer.start();
  return { bus, ...service };
}

describe('POST /events', () => {
  it('publishes one verdict per comment delivered', async () => {
    const { app, bus } = await setup();
    await bus.publish({ type: 'CommentCreated', data: comment('c1', 'lovely') });
    await bus.publish({ type: 'CommentCreated', data: comment('c2', 'an orange') });

    for (const event of bus.log) await request(app).post('/events').send(event).expect(200);
    await waitFor(() => bus.ofType('CommentModerated').length === 2, 'two verdicts');

    expect(bus.ofType('CommentModerated').map((e) => [e.data.id, e.data.status])).toEqual([
      ['c1', 'approved'],
      ['c2', 'rejected'],
    ]);
  });

  it('rejects an invalid event with 400 naming the field', async () => {
    const { app } = await setup();
    const res = await request(app)
      .post('/events')
      .send({
        id: 'x',
        seq: 1,
        time: '',
        type: 'CommentCreated',
        data: { id: 'c', postId: 'p', content: 3, status: 'pending' },
      });
    expect(res.status).toBe(400);
    expect(res.body.message).toBe('data.content: must be a string');
  });

  it('moderates at startup what was created while it was down, and only that', async () => {
    const bus = new MemoryBus();
    await bus.publish({ type: 'CommentCreated', data: comment('c1', 'hello') });
    await bus.publish({
      type: 'CommentModerated',
      id: 'CommentModerated:c1',
      data: { ...comment('c1', 'hello'), status: 'approved' },
    });
    await bus.publish({ type: 'CommentCreated', data: comment('c2', 'orange') });

    await setup(bus);
    await waitFor(() => bus.ofType('CommentModerated').length === 2, 'the missing verdict');

    expect(bus.ofType('CommentModerated').map((e) => e.data.id)).toEqual(['c1', 'c2']);
  });
});

describe('config', () => {
  it('blocks "orange" by default', () => {
    expect(readConfig({}).BLOCKED_WORDS).toEqual(['orange']);
  });

  it('reads a comma-separated list', () => {
    expect(readConfig({ BLOCKED_WORDS: 'orange, kiwi ,' }).BLOCKED_WORDS).toEqual(['orange', 'kiwi']);
  });

  it.each([
    ['a phrase', 'two words'],
    ['a hyphen', 'orange-juice'],
    ['an apostrophe', "orange's"],
    ['a digit', 'orange2'],
  ])('refuses a word with %s, with a message naming the variable and the rule', (_what, value) => {
    expect(() => readConfig({ BLOCKED_WORDS: value })).toThrow(/BLOCKED_WORDS\.0: must be single words of letters/);
  });

  it('accepts a word in letters of any script or width', () => {
    expect(readConfig({ BLOCKED_WORDS: 'ｋｉｗｉ,яблоко' }).BLOCKED_WORDS).toEqual(['ｋｉｗｉ', 'яблоко']);
  });
});
