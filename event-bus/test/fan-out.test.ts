import request from 'supertest';
import { subscriptionStatus, waitFor } from '@mini-blog/common/testing';
import { FakeSubscriber, openTestBus, postCreated, subscriber, type TestBus } from './helpers';

const seqsOf = (events: readonly { seq: number }[]) => events.map((event) => event.seq);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, index) => from + index);

describe('fan-out', () => {
  const subscribers: FakeSubscriber[] = [];
  let bus: TestBus | undefined;

  async function startSubscriber(): Promise<FakeSubscriber> {
    const fake = await new FakeSubscriber().start();
    subscribers.push(fake);
    return fake;
  }

  async function publishPosts(test: TestBus, count: number, from = 1): Promise<void> {
    for (let n = from; n < from + count; n += 1)
      await test.as('posts').post('/events').send(postCreated(n)).expect(201);
  }

  afterEach(async () => {
    await bus?.close();
    bus = undefined;
    await Promise.all(subscribers.splice(0).map((fake) => fake.stop()));
  });

  it('delivers every event to every subscriber, one envelope per request, in seq order', async () => {
    const [a, b] = [await startSubscriber(), await startSubscriber()];
    bus = openTestBus([subscriber('a', a.url), subscriber('b', b.url)]);

    await publishPosts(bus, 5);

    await waitFor(() => a.received.length === 5 && b.received.length === 5, 'both subscribers to receive 5 events');
    expect(seqsOf(a.received)).toEqual([1, 2, 3, 4, 5]);
    expect(seqsOf(b.received)).toEqual([1, 2, 3, 4, 5]);
    expect(a.deliveries.every((delivery) => !delivery.batch)).toBe(true);
    expect(a.received[0]).toEqual({
      id: expect.any(String),
      seq: 1,
      type: 'PostCreated',
      data: { id: 'post-1', title: 'Post 1' },
      time: expect.any(String),
    });
  });

  it('reuses kept-alive connections instead of opening one per delivery', async () => {
    const fake = await startSubscriber();
    bus = openTestBus([subscriber('a', fake.url)]);

    await publishPosts(bus, 30);

    await waitFor(() => fake.received.length === 30, '30 deliveries');
    expect(fake.connections).toBeLessThanOrEqual(2);
  });

  it('sends the cursor before each delivery in x-bus-cursor', async () => {
    const fake = await startSubscriber();
    bus = openTestBus([subscriber('a', fake.url)]);

    await publishPosts(bus, 3);

    await waitFor(() => fake.received.length === 3, '3 deliveries');
    expect(fake.deliveries.map((delivery) => delivery.cursor)).toEqual([0, 1, 2]);
  });

  it('delivers events stored before the bus started, and resumes after the durable cursor on reopen', async () => {
    const fake = await startSubscriber();
    bus = openTestBus([subscriber('a', fake.url)]);
    await publishPosts(bus, 3);
    await waitFor(() => fake.received.length === 3, 'the first 3 events');
    // Received is not yet acknowledged: a bus closed before it stores the cursor delivers event 3 again.
    await waitFor(() => bus!.bus.fanOut.statuses()[0]!.cursor === 3, 'the cursor to reach 3');
    const dataDir = bus.dataDir;
    await bus.bus.close();
    const reopened = openTestBus([subscriber('a', fake.url)], { dataDir });
    try {
      await publishPosts(reopened, 2, 4);

      await waitFor(() => fake.received.length === 5, 'events 4 and 5 after the reopen');
      expect(seqsOf(fake.received)).toEqual([1, 2, 3, 4, 5]);
    } finally {
      await reopened.bus.close();
    }
  });

  it('delivers everything in order to a subscriber that was down, once it is back', async () => {
    const fake = await startSubscriber();
    bus = openTestBus([subscriber('a', fake.url)]);
    await publishPosts(bus, 2);
    await waitFor(() => fake.received.length === 2, 'the first 2 events');

    await fake.stop();
    await publishPosts(bus, 5, 3);
    await waitFor(
      () => bus!.bus.fanOut.statuses()[0]!.attempts > 0,
      'a failed delivery attempt while the subscriber is down',
    );
    await fake.start();

    await waitFor(() => fake.received.length === 7, 'all 7 events after the subscriber came back');
    expect(seqsOf(fake.received)).toEqual(range(1, 7));
  });

  it('keeps delivering to the others while one subscriber is dead', async () => {
    const [healthy, dead] = [await startSubscriber(), await startSubscriber()];
    await dead.stop();
    bus = openTestBus([subscriber('dead', dead.url), subscriber('healthy', healthy.url)]);

    await publishPosts(bus, 20);

    await waitFor(() => healthy.received.length === 20, 'the healthy subscriber to receive all 20 events');
    expect(seqsOf(healthy.received)).toEqual(range(1, 20));
    const dead$ = bus.bus.fanOut.statuses().find((status) => status.name === 'dead')!;
    expect(dead$).toMatchObject({ cursor: 0, lag: 20, lastError: 'connection refused' });
  });

  it('retries a subscriber answering 500 with backoff, then delivers everything in order once it recovers', async () => {
    const fake = await startSubscriber();
    fake.respond = () => 500;
    bus = openTestBus([subscriber('a', fake.url)], { retryBaseMs: 50, retryMaxMs: 200 });

    await publishPosts(bus, 3);
    await waitFor(() => fake.deliveries.length >= 4, '4 failed attempts');
    fake.respond = () => 200;

    // Each retry waits at least the base delay: a tight loop would send them back to back.
    const failed = fake.deliveries.slice(0, 4);
    for (const [index, attempt] of failed.entries()) {
      if (index > 0) expect(attempt.at - failed[index - 1]!.at).toBeGreaterThanOrEqual(45);
    }
    await waitFor(() => fake.received.length === 3, 'the 3 events after recovery');
    expect(seqsOf(fake.received)).toEqual([1, 2, 3]);
    expect(bus.bus.fanOut.statuses()[0]).toMatchObject({
      attempts: 0,
      lastError: 'HTTP 500',
      lastErrorAt: expect.any(String),
    });
  });

  it('shows cursor, head and lag on GET /subscriptions, without payloads', async () => {
    const fake = await startSubscriber();
    bus = openTestBus([subscriber('a', fake.url)]);
    await publishPosts(bus, 2);
    await waitFor(() => bus!.bus.fanOut.statuses()[0]!.cursor === 2, 'the cursor to reach 2');

    const res = await request(bus.views).get('/subscriptions').expect(200);

    expect(res.body).toEqual([subscriptionStatus('a', 2, { batch: false })]);
    expect(JSON.stringify(res.body)).not.toContain('Post 1');
  });
});
