import { waitFor } from '@mini-blog/common/testing';
import request from 'supertest';
import { FakeSubscriber, openTestBus, publishPostBatch, subscriber, type TestBus } from './helpers';

const seqsOf = (events: readonly { seq: number }[]) => events.map((event) => event.seq);

describe('poison events and the admin endpoints', () => {
  const fakes: FakeSubscriber[] = [];
  let bus: TestBus;

  async function fake(rejectSeq?: number, status = 400): Promise<FakeSubscriber> {
    const server = await new FakeSubscriber().start();
    if (rejectSeq !== undefined)
      server.respond = ({ events }) => (events.some((event) => event.seq === rejectSeq) ? status : 200);
    fakes.push(server);
    return server;
  }

  const publish = (count: number, from = 1) => publishPostBatch(bus, count, from);
  const statusOf = (name: string) => bus.bus.fanOut.statuses().find((status) => status.name === name)!;

  afterEach(async () => {
    await bus.close();
    await Promise.all(fakes.splice(0).map((server) => server.stop()));
  });

  describe('park mode (the default)', () => {
    it('parks an event rejected with 400 after N tries, moves on, and does not stall the other subscribers', async () => {
      const [poisoned, healthy] = [await fake(2), await fake()];
      bus = openTestBus([subscriber('poisoned', poisoned.url), subscriber('healthy', healthy.url)]);

      await publish(4);

      await waitFor(() => statusOf('poisoned').cursor === 4, 'the poisoned subscriber to move past the parked event');
      expect(seqsOf(poisoned.received)).toEqual([1, 3, 4]);
      expect(poisoned.deliveries.filter((delivery) => delivery.events[0]!.seq === 2)).toHaveLength(3);
      await waitFor(() => healthy.received.length === 4, 'the healthy subscriber to get every event');
      expect(statusOf('poisoned')).toMatchObject({ parked: 1, acked: 4, lastError: 'HTTP 400' });

      const parked = await bus.as('admin').get('/admin/parked').expect(200);
      expect(parked.body.parked).toEqual([
        {
          subscriber: 'poisoned',
          seq: 2,
          id: expect.any(String),
          type: 'PostCreated',
          attempts: 3,
          reason: expect.stringContaining('answered 400'),
          parkedAt: expect.any(String),
        },
      ]);
      expect(JSON.stringify(parked.body)).not.toContain('Post 2');
    });

    it.each([408, 429, 401, 403, 404, 500, 503])(
      'never parks an event answered %i: it is retried until accepted',
      async (status) => {
        const flaky = await fake();
        let failures = 6;
        flaky.respond = () => (failures-- > 0 ? status : 200);
        bus = openTestBus([subscriber('flaky', flaky.url)]);

        await publish(2);

        await waitFor(() => flaky.received.length === 2, 'both events after the failures');
        expect(seqsOf(flaky.received)).toEqual([1, 2]);
        expect(statusOf('flaky').parked).toBe(0);
      },
    );

    it('parks only the rejected event of a batch delivery', async () => {
      const batch = await fake(3);
      bus = openTestBus([subscriber('batch', batch.url, { batch: true })]);

      await publish(5);

      await waitFor(() => statusOf('batch').cursor === 5, 'the batch subscriber to finish');
      expect(seqsOf(batch.received)).toEqual([1, 2, 4, 5]);
      expect(statusOf('batch').parked).toBe(1);
      expect(
        (await bus.as('admin').get('/admin/parked?subscriber=batch').expect(200)).body.parked.map(
          (record: { seq: number }) => record.seq,
        ),
      ).toEqual([3]);
    });

    it('replays a parked event once the subscriber accepts it, and forgets the record', async () => {
      const poisoned = await fake(2);
      bus = openTestBus([subscriber('poisoned', poisoned.url)]);
      await publish(3);
      await waitFor(() => statusOf('poisoned').parked === 1 && statusOf('poisoned').cursor === 3, 'event 2 parked');
      poisoned.respond = () => 200;

      await bus
        .as('admin')
        .post('/admin/subscriptions/poisoned/parked/2/replay')
        .expect(202, { subscriber: 'poisoned', seq: 2, status: 'replaying' });

      await waitFor(() => statusOf('poisoned').parked === 0, 'the replay to be acknowledged');
      expect(seqsOf(poisoned.received)).toEqual([1, 3, 2]);
      expect((await bus.as('admin').get('/admin/parked').expect(200)).body.parked).toEqual([]);
    });

    it('skips a parked event: the record goes, nothing is delivered', async () => {
      const poisoned = await fake(1);
      bus = openTestBus([subscriber('poisoned', poisoned.url)]);
      await publish(1);
      await waitFor(() => statusOf('poisoned').parked === 1, 'event 1 parked');
      const tries = poisoned.deliveries.length;

      await bus
        .as('admin')
        .post('/admin/subscriptions/poisoned/parked/1/skip')
        .expect(200, { subscriber: 'poisoned', seq: 1, status: 'skipped' });

      expect(statusOf('poisoned').parked).toBe(0);
      await publish(1, 2);
      await waitFor(() => poisoned.received.length === 1, 'the next event');
      expect(poisoned.deliveries.filter((delivery) => delivery.events[0]!.seq === 1)).toHaveLength(tries);
    });

    it('keeps parked records across a restart of the bus', async () => {
      const poisoned = await fake(1);
      bus = openTestBus([subscriber('poisoned', poisoned.url)]);
      await publish(1);
      await waitFor(() => statusOf('poisoned').parked === 1, 'event 1 parked');
      await bus.bus.close();

      bus = openTestBus([subscriber('poisoned', poisoned.url)], { dataDir: bus.dataDir });

      expect(statusOf('poisoned')).toMatchObject({ parked: 1, cursor: 1 });
    });
  });

  describe('block mode', () => {
    it('stops the subscriber at the rejected event and says why in GET /subscriptions', async () => {
      const [blocked, healthy] = [await fake(2), await fake()];
      bus = openTestBus([subscriber('blocked', blocked.url, { mode: 'block' }), subscriber('healthy', healthy.url)]);

      await publish(4);

      await waitFor(() => statusOf('blocked').blockedAt === 2, 'the subscriber to block at event 2');
      await waitFor(() => healthy.received.length === 4, 'the healthy subscriber to get every event');
      const tries = blocked.deliveries.length;
      await publish(1, 5);
      await waitFor(() => healthy.received.length === 5, 'the healthy subscriber to get event 5');

      expect(seqsOf(blocked.received)).toEqual([1]);
      const [status] = (await request(bus.views).get('/subscriptions').expect(200)).body.filter(
        (entry: { name: string }) => entry.name === 'blocked',
      );
      expect(status).toMatchObject({
        mode: 'block',
        cursor: 1,
        lag: 4,
        blockedAt: 2,
        parked: 1,
        lastError: expect.stringMatching(/^blocked at seq 2 \(PostCreated\) after 3 rejections: HTTP 400$/),
      });
      // Nothing was sent while blocked: once the event is skipped, the next delivery is the one after it.
      await bus.as('admin').post('/admin/subscriptions/blocked/parked/2/skip').expect(200);
      await waitFor(() => blocked.received.length === 4, 'events 3 to 5 after the skip');
      expect(seqsOf(blocked.deliveries.slice(tries).flatMap((delivery) => delivery.events))).toEqual([3, 4, 5]);
    });

    it('goes on after the blocking event is skipped', async () => {
      const blocked = await fake(2);
      bus = openTestBus([subscriber('blocked', blocked.url, { mode: 'block' })]);
      await publish(4);
      await waitFor(() => statusOf('blocked').blockedAt === 2, 'the block');

      await bus.as('admin').post('/admin/subscriptions/blocked/parked/2/skip').expect(200);

      await waitFor(() => blocked.received.length === 3, 'events 3 and 4');
      expect(seqsOf(blocked.received)).toEqual([1, 3, 4]);
      expect(statusOf('blocked')).toMatchObject({ blockedAt: null, parked: 0, cursor: 4 });
    });

    it('delivers in order from the blocking event once it is replayed and accepted', async () => {
      const blocked = await fake(2);
      bus = openTestBus([subscriber('blocked', blocked.url, { mode: 'block' })]);
      await publish(4);
      await waitFor(() => statusOf('blocked').blockedAt === 2, 'the block');
      blocked.respond = () => 200;

      await bus.as('admin').post('/admin/subscriptions/blocked/parked/2/replay').expect(202);

      await waitFor(() => blocked.received.length === 4, 'events 2 to 4');
      expect(seqsOf(blocked.received)).toEqual([1, 2, 3, 4]);
      expect(statusOf('blocked')).toMatchObject({ blockedAt: null, parked: 0 });
    });
  });

  describe('PUT /admin/subscriptions/:name/cursor', () => {
    it('delivers again everything after the new cursor', async () => {
      const fakeSubscriber = await fake();
      bus = openTestBus([subscriber('a', fakeSubscriber.url)]);
      await publish(3);
      await waitFor(() => fakeSubscriber.received.length === 3, 'the first pass');

      const res = await bus.as('admin').put('/admin/subscriptions/a/cursor').send({ cursor: 1 }).expect(200);

      expect(res.body).toMatchObject({ name: 'a', cursor: 1, acked: 1 });
      await waitFor(() => fakeSubscriber.received.length === 5, 'events 2 and 3 again');
      expect(seqsOf(fakeSubscriber.received)).toEqual([1, 2, 3, 2, 3]);
      expect(fakeSubscriber.deliveries.at(-2)!.cursor).toBe(1);
    });

    it('unblocks a blocked subscriber', async () => {
      const blocked = await fake(2);
      bus = openTestBus([subscriber('blocked', blocked.url, { mode: 'block' })]);
      await publish(3);
      await waitFor(() => statusOf('blocked').blockedAt === 2, 'the block');

      await bus.as('admin').put('/admin/subscriptions/blocked/cursor').send({ cursor: 2 }).expect(200);

      await waitFor(() => blocked.received.length === 2, 'event 3');
      expect(seqsOf(blocked.received)).toEqual([1, 3]);
    });
  });

  describe('bad input', () => {
    beforeEach(async () => {
      bus = openTestBus([subscriber('a', (await fake()).url)]);
      await publish(2);
      await waitFor(() => statusOf('a').cursor === 2, 'both events delivered');
    });

    it.each([
      ['post', '/admin/subscriptions/a/parked/abc/replay', 400, 'seq: must be a number'],
      ['post', '/admin/subscriptions/a/parked/0/replay', 400, 'seq: must be greater than 0'],
      ['post', '/admin/subscriptions/a/parked/1.5/skip', 400, 'seq: must be an integer'],
      ['post', '/admin/subscriptions/a/parked/1/replay', 404, 'seq: 1 is not parked for a'],
      ['post', '/admin/subscriptions/a/parked/1/skip', 404, 'seq: 1 is not parked for a'],
      ['post', '/admin/subscriptions/nobody/parked/1/replay', 404, 'subscriber: nobody is not configured'],
      ['get', '/admin/parked?subscriber=nobody', 404, 'subscriber: nobody is not configured'],
      ['get', '/flow?after=-1', 400, 'after: must be at least 0'],
      ['get', '/flow?limit=5000', 400, 'limit: must be at most 1000'],
      ['get', '/flow?limit=ten', 400, 'limit: must be a number'],
    ] as const)('%s %s answers %i naming the problem', async (method, path, status, message) => {
      const client = path.startsWith('/admin') ? bus.as('admin') : request.agent(bus.views);
      const res = await client[method](path).expect(status);

      expect(res.body.message).toContain(message);
    });

    it.each([
      [{ cursor: -1 }, 400, 'cursor: must be at least 0'],
      [{ cursor: 3 }, 400, 'cursor: must be at most the head (2)'],
      [{ cursor: '1' }, 400, 'cursor: must be a number'],
      [{ cursor: 1.5 }, 400, 'cursor: must be an integer'],
      [{}, 400, 'cursor: is required'],
    ])('PUT cursor %j answers %i', async (body, status, message) => {
      const res = await bus.as('admin').put('/admin/subscriptions/a/cursor').send(body).expect(status);

      expect(res.body.message).toContain(message);
      expect(statusOf('a').cursor).toBe(2);
    });

    it('PUT cursor answers 415 to a non-JSON body, 400 to malformed JSON, 413 to an oversized body, 404 to an unknown subscriber', async () => {
      const put = (name = 'a') => bus.as('admin').put(`/admin/subscriptions/${name}/cursor`);

      await put().set('content-type', 'text/plain').send('1').expect(415);
      expect((await put().set('content-type', 'application/json').send('{"cursor":').expect(400)).body.message).toBe(
        'body: must be valid JSON',
      );
      await put()
        .send({ cursor: 1, padding: 'x'.repeat(2_000_000) })
        .expect(413);
      await put('nobody').send({ cursor: 1 }).expect(404);
      expect(statusOf('a').cursor).toBe(2);
    });
  });
});
