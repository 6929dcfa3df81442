import Database from 'better-sqlite3';
import path from 'node:path';
import { DATABASE_FILE, type PendingEvent } from '../src/log/log-writer';
import { openTestBus, postCreated, tempDir, TESTER, TESTER_ACL, type TestBus } from './helpers';

const comment = (n: number, postId = 'p1') => ({
  type: 'CommentCreated',
  id: `c${n}`,
  key: postId,
  data: { id: `c${n}`, postId, content: `comment ${n}`, status: 'pending' },
});
const conditional = (n: number, expectedLastSeq: number, postId = 'p1') => ({ ...comment(n, postId), expectedLastSeq });

describe('conditional publish (key and expectedLastSeq)', () => {
  let bus: TestBus;
  beforeEach(() => {
    bus = openTestBus([], { acl: TESTER_ACL });
  });
  afterEach(() => bus.close());

  const publish = (body: unknown) => bus.publish(body);
  const storedIds = () => bus.bus.store.read(0, 1000).map((event) => (JSON.parse(event.json) as { id: string }).id);

  it('stores an event whose key has no event yet with expectedLastSeq 0, then one that names the last seq', async () => {
    expect((await publish(conditional(1, 0)).expect(201)).body).toEqual({ id: 'c1', seq: 1, duplicate: false });
    await publish(postCreated(9)).expect(201);

    expect((await publish(conditional(2, 1)).expect(201)).body).toEqual({ id: 'c2', seq: 3, duplicate: false });
  });

  it('refuses a stale expectedLastSeq with 409 and the key last seq, storing nothing', async () => {
    await publish(conditional(1, 0)).expect(201);

    const res = await publish(conditional(2, 0)).expect(409);

    expect(res.body).toEqual({ message: 'expectedLastSeq: the last event of p1 is at 1', lastSeq: 1 });
    expect(storedIds()).toEqual(['c1']);
  });

  it('keeps keys apart: each key has its own last seq', async () => {
    await publish(conditional(1, 0, 'p1')).expect(201);

    await publish(conditional(2, 0, 'p2')).expect(201);
    await publish(conditional(3, 0, 'p1')).expect(409);
  });

  it('stores a key without expectedLastSeq unconditionally, and counts it as the key last event', async () => {
    await publish(comment(1)).expect(201);

    expect((await publish(conditional(2, 0)).expect(409)).body.lastSeq).toBe(1);
  });

  it('answers a re-sent id as a duplicate before checking its condition (a retry after a lost answer)', async () => {
    await publish(conditional(1, 0)).expect(201);
    await publish(conditional(2, 1)).expect(201);

    expect((await publish(conditional(1, 0)).expect(200)).body).toEqual({ id: 'c1', seq: 1, duplicate: true });
  });

  it('delivers the key in the envelope, and no key field for an event without one', async () => {
    await publish(conditional(1, 0)).expect(201);
    await publish(postCreated(2)).expect(201);

    const { body } = await bus.as('admin').get('/events?after=0').expect(200);

    expect(body.events[0]).toMatchObject({ id: 'c1', key: 'p1' });
    expect(body.events[1]).not.toHaveProperty('key');
  });

  it('stores exactly one of 60 concurrent publishes with the same expectedLastSeq; the others get 409 with its seq', async () => {
    await publish(conditional(0, 0)).expect(201);

    const answers = await Promise.all(Array.from({ length: 60 }, (_, n) => publish(conditional(n + 1, 1))));

    const stored = answers.filter((res) => res.status === 201);
    expect(stored).toHaveLength(1);
    const winner = stored[0]!.body.seq as number;
    expect(answers.filter((res) => res.status === 409).map((res) => res.body.lastSeq)).toEqual(Array(59).fill(winner));
    expect(bus.bus.store.head).toBe(2);
    expect((await bus.bus.metrics.refusals.get()).values[0]!.value).toBe(59);
  });

  describe('in a batch', () => {
    it('stores all of it or none: one stale condition refuses the whole batch', async () => {
      await publish(conditional(1, 0, 'p2')).expect(201);

      const res = await publish([conditional(2, 0, 'p1'), postCreated(5), conditional(3, 0, 'p2')]).expect(409);

      expect(res.body).toEqual({ message: 'expectedLastSeq: the last event of p2 is at 1', lastSeq: 1 });
      expect(storedIds()).toEqual(['c1']);
      // The refused batch's first event moved nothing: p1 still has no event.
      await publish(conditional(4, 0, 'p1')).expect(201);
    });

    it('checks each condition against the events before it in the same batch', async () => {
      const res = await publish([conditional(1, 0), conditional(2, 1), conditional(3, 2)]).expect(201);

      expect(res.body.results.map((result: { seq: number }) => result.seq)).toEqual([1, 2, 3]);
    });

    it('leaves the other publishes of the same commit stored, with seqs that have no gap', async () => {
      await publish(conditional(1, 0)).expect(201);
      const event = (id: string, extra: Partial<PendingEvent> = {}): PendingEvent => ({
        id,
        type: 'PostCreated',
        dataJson: JSON.stringify({ id, title: id }),
        ...extra,
      });

      const outcomes = await Promise.allSettled([
        bus.bus.committer.publish([event('before')]),
        bus.bus.committer.publish([
          event('refused-1', { key: 'p1' }),
          event('refused-2', { key: 'p1', expectedLastSeq: 0 }),
        ]),
        bus.bus.committer.publish([event('after')]),
      ]);

      expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect(outcomes[2]).toEqual({ status: 'fulfilled', value: [{ id: 'after', seq: 3, duplicate: false }] });
      expect(storedIds()).toEqual(['c1', 'before', 'after']);
      expect((await publish(conditional(2, 1)).expect(201)).body.seq).toBe(4);
    });
  });

  it.each([
    ['expectedLastSeq without a key', { ...postCreated(1), expectedLastSeq: 0 }, 'expectedLastSeq: needs key'],
    ['an empty key', { ...postCreated(1), key: '' }, 'key: must not be empty'],
    ['a key over 200 characters', { ...postCreated(1), key: 'k'.repeat(201) }, 'key: must be at most 200 characters'],
    ['a key that is not a string', { ...postCreated(1), key: 7 }, 'key: must be a string'],
    ['a negative expectedLastSeq', conditional(1, -1), 'expectedLastSeq: must be at least 0'],
    ['a fractional expectedLastSeq', conditional(1, 1.5), 'expectedLastSeq: must be an integer'],
    ['an expectedLastSeq as text', { ...comment(1), expectedLastSeq: '0' }, 'expectedLastSeq: must be a number'],
  ])('refuses %s with 400 naming the field, storing nothing', async (_case, body, message) => {
    const single = await publish(body).expect(400);
    const batch = await publish([postCreated(2), body]).expect(400);

    expect(single.body.message).toContain(message);
    expect(batch.body.message).toContain(`[1].${message}`);
    expect(bus.bus.store.head).toBe(0);
  });

  it('rebuilds every key last seq when the log is opened again', async () => {
    await publish([conditional(1, 0, 'p1'), conditional(2, 0, 'p2'), conditional(3, 1, 'p1')]).expect(201);
    const first = bus;
    await first.bus.close();
    bus = openTestBus([], { dataDir: first.dataDir, acl: TESTER_ACL });
    try {
      expect((await publish(conditional(4, 1, 'p1')).expect(409)).body.lastSeq).toBe(3);
      await publish(conditional(4, 2, 'p2')).expect(201);
    } finally {
      await bus.close();
      bus = first;
    }
  });
});

describe('idempotency conflicts', () => {
  let bus: TestBus;
  beforeEach(() => {
    bus = openTestBus([], { acl: TESTER_ACL });
  });
  afterEach(() => bus.close());

  const publish = (body: unknown) => bus.publish(body);

  it.each([
    ['other data', { type: 'PostCreated', id: 'e1', data: { id: 'p1', title: 'Changed' } }],
    [
      'another type',
      { type: 'CommentCreated', id: 'e1', data: { id: 'c1', postId: 'p1', content: 'x', status: 'pending' } },
    ],
  ])('answers an id published again with %s with 409, and keeps the first event', async (_case, again) => {
    await publish({ type: 'PostCreated', id: 'e1', data: { id: 'p1', title: 'First' } }).expect(201);

    const res = await publish(again).expect(409);
    const batch = await publish([postCreated(2, 'e2'), again]).expect(409);

    expect(res.body).toEqual({ message: 'id: e1 is stored with other data' });
    expect(batch.body).toEqual({ message: 'id: e1 is stored with other data' });
    const { body } = await bus.as('admin').get('/events?after=0').expect(200);
    expect(body.events).toEqual([
      expect.objectContaining({ id: 'e1', type: 'PostCreated', data: { id: 'p1', title: 'First' } }),
    ]);
  });

  it('answers the same id with the same data as a duplicate, whatever the order of its fields', async () => {
    await publish({ type: 'PostCreated', id: 'e1', data: { id: 'p1', title: 'First' } }).expect(201);

    await publish({ data: { title: 'First', id: 'p1' }, id: 'e1', type: 'PostCreated' }).expect(200);
  });
});

describe('a log written before keys existed', () => {
  it('gets the key column when opened, and keeps its events', async () => {
    const dir = tempDir();
    const db = new Database(path.join(dir.path, DATABASE_FILE));
    db.exec(
      'CREATE TABLE events (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, type TEXT NOT NULL, data TEXT NOT NULL, time TEXT NOT NULL)',
    );
    db.prepare('INSERT INTO events VALUES (1, ?, ?, ?, ?)').run(
      'old',
      'PostCreated',
      '{"id":"p1","title":"Old"}',
      '2026-01-01T00:00:00.000Z',
    );
    db.close();
    const bus = openTestBus([], { dataDir: dir.path, acl: TESTER_ACL });
    try {
      await bus.as(TESTER).post('/events').send(conditional(1, 0)).expect(201);

      const { body } = await bus.as('admin').get('/events?after=0').expect(200);
      expect(body.events.map((event: { id: string; key?: string }) => [event.id, event.key])).toEqual([
        ['old', undefined],
        ['c1', 'p1'],
      ]);
    } finally {
      await bus.close();
      dir.remove();
    }
  });
});
