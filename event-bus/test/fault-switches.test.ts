import { waitFor } from '@mini-blog/common/testing';
import request from 'supertest';
import { FakeSubscriber, openTestBus, publishPostBatch, secretOf, subscriber, type TestBus } from './helpers';

const seqsOf = (events: readonly { seq: number }[]) => events.map((event) => event.seq);

describe('the fault switches (/admin/faults)', () => {
  let bus: TestBus;
  let fake: FakeSubscriber;

  beforeEach(async () => {
    fake = await new FakeSubscriber().start();
  });

  afterEach(async () => {
    await bus.close();
    await fake.stop();
  });

  const open = (faultSwitches: boolean) => {
    bus = openTestBus([subscriber('query', fake.url, { batch: true })], { faultSwitches });
  };
  const publish = (count: number, from = 1) => publishPostBatch(bus, count, from);
  const statusOf = () => bus.bus.fanOut.statuses().find((status) => status.name === 'query')!;
  const admin = () => bus.as('admin');

  describe('who may reach them', () => {
    it('do not exist unless FAULT_SWITCHES is on: 404 for admin, for every method', async () => {
      open(false);

      await admin().get('/admin/faults').expect(404);
      await admin().patch('/admin/faults/deliveries/query').send({ paused: true }).expect(404);
      await admin().put('/admin/faults/log').send({ slowMs: 100 }).expect(404);
      await admin().delete('/admin/faults').expect(404);
      expect(statusOf()).toMatchObject({ lag: 0 });
    });

    it('answer 401 without a token and 403 to another principal, and change nothing', async () => {
      open(true);

      const anonymous = await request(bus.app).patch('/admin/faults/deliveries/query').send({ paused: true });
      const service = await bus.as('query').patch('/admin/faults/deliveries/query').send({ paused: true });

      expect([anonymous.status, anonymous.headers['www-authenticate']]).toEqual([401, 'Bearer']);
      expect(service.status).toBe(403);
      expect(service.body.message).toBe('authorization: query may not use the admin routes');
      expect((await admin().get('/admin/faults').expect(200)).body).toEqual({ deliveries: {}, log: { slowMs: 0 } });
    });

    it.each([
      [{}, 'must set paused, latencyMs or failing'],
      [{ paused: 'yes' }, 'paused'],
      [{ latencyMs: -1 }, 'latencyMs'],
      [{ latencyMs: 60_001 }, 'latencyMs'],
      [{ latencyMs: 1.5 }, 'latencyMs'],
      [{ paused: true, url: 'http://x' }, 'url'],
    ])('refuses %j with 400 naming the field', async (body, field) => {
      open(true);

      const answer = await admin().patch('/admin/faults/deliveries/query').send(body).expect(400);

      expect(answer.body.message).toContain(field);
      expect(bus.bus.fanOut.subscriber('query').faults).toEqual({ paused: false, latencyMs: 0, failing: false });
    });

    it('answers 404 naming an unknown subscriber', async () => {
      open(true);

      const answer = await admin().patch('/admin/faults/deliveries/nobody').send({ paused: true }).expect(404);

      expect(answer.body.message).toContain('nobody');
    });
  });

  it('pause: no delivery goes out and the lag grows; undone, every event arrives in order', async () => {
    open(true);
    await publish(2);
    await waitFor(() => fake.received.length === 2, 'the first deliveries');

    const paused = await admin().patch('/admin/faults/deliveries/query').send({ paused: true }).expect(200);
    await publish(3, 3);

    expect(paused.body.deliveries).toEqual({ query: { paused: true, latencyMs: 0, failing: false } });
    await waitFor(() => statusOf().lag === 3, 'the lag to grow to 3');
    expect(fake.received).toHaveLength(2);

    await admin().delete('/admin/faults/deliveries/query').expect(200);
    await waitFor(() => fake.received.length === 5, 'the held events after the pause');
    expect(seqsOf(fake.received)).toEqual([1, 2, 3, 4, 5]);
    expect(statusOf()).toMatchObject({ lag: 0, parked: 0 });
  });

  it('latency: each delivery waits that long before it goes out', async () => {
    open(true);
    await admin().patch('/admin/faults/deliveries/query').send({ latencyMs: 300 }).expect(200);

    const sentAt = Date.now();
    await publish(1);
    await waitFor(() => fake.received.length === 1, 'the delayed delivery');

    expect(fake.deliveries[0]!.at - sentAt).toBeGreaterThanOrEqual(300);
    expect(statusOf().lastError).toBeNull();
  });

  it("fail: each delivery is refused in the subscriber's place and parks at once; undone, they are replayed in order", async () => {
    open(true);
    await admin().patch('/admin/faults/deliveries/query').send({ failing: true }).expect(200);

    await publish(3);

    await waitFor(() => statusOf().parked === 3, 'every event to park');
    expect(fake.deliveries).toEqual([]);
    expect(statusOf()).toMatchObject({ cursor: 3, lag: 0, lastError: 'refused (fault switch)' });
    const { parked } = (await admin().get('/admin/parked').expect(200)).body as {
      parked: { seq: number; reason: string }[];
    };
    expect(parked.map((record) => record.seq)).toEqual([1, 2, 3]);
    expect(parked[0]!.reason).toContain('fault switch');

    await admin().delete('/admin/faults/deliveries/query').expect(200);
    await publish(1, 4);

    await waitFor(() => statusOf().parked === 0 && fake.received.length === 4, 'the replays, then the new event');
    expect(seqsOf(fake.received)).toEqual([1, 2, 3, 4]);
    expect((await admin().get('/admin/parked').expect(200)).body.parked).toEqual([]);
  });

  it('fail: a subscriber in mode=block stops at the first refused event, and goes on from it once undone', async () => {
    bus = openTestBus([subscriber('query', fake.url, { mode: 'block' })], { faultSwitches: true });
    await admin().patch('/admin/faults/deliveries/query').send({ failing: true }).expect(200);

    await publish(3);

    await waitFor(() => statusOf().blockedAt === 1, 'the block at the first event');
    expect(statusOf()).toMatchObject({ parked: 1, lag: 3 });

    await admin().delete('/admin/faults').expect(200);

    await waitFor(() => fake.received.length === 3, 'every event once undone');
    expect(seqsOf(fake.received)).toEqual([1, 2, 3]);
    expect(statusOf()).toMatchObject({ parked: 0, blockedAt: null, lag: 0 });
  });

  it('slow log: each commit waits that long, so a publish does; undone, it is quick again', async () => {
    open(true);
    await admin().put('/admin/faults/log').send({ slowMs: 400 }).expect(200);

    let started = Date.now();
    await publish(1);
    const slow = Date.now() - started;
    await admin().delete('/admin/faults/log').expect(200);
    started = Date.now();
    await publish(1, 2);
    const quick = Date.now() - started;

    expect(slow).toBeGreaterThanOrEqual(400);
    expect(quick).toBeLessThan(slow);
    expect((await admin().get('/admin/faults').expect(200)).body.log).toEqual({ slowMs: 0 });
  });

  it('one DELETE turns every switch off', async () => {
    open(true);
    await admin().patch('/admin/faults/deliveries/query').send({ paused: true, latencyMs: 50 }).expect(200);
    await admin().put('/admin/faults/log').send({ slowMs: 50 }).expect(200);

    const cleared = await admin().delete('/admin/faults').expect(200);

    expect(cleared.body).toEqual({ deliveries: {}, log: { slowMs: 0 } });
    await publish(1);
    await waitFor(() => fake.received.length === 1, 'a delivery once all is off');
  });

  it('never shows a token or a payload in what it answers', async () => {
    open(true);
    await publish(1);
    const answer = await admin().patch('/admin/faults/deliveries/query').send({ failing: true }).expect(200);

    expect(JSON.stringify(answer.body)).not.toMatch(new RegExp(`${secretOf('admin')}|Post 1|127\\.0\\.0\\.1`));
  });
});
