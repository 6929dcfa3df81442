import type { Envelope, NewEvent } from '@mini-blog/common/events';
import { createConsumer, createHttpApp, silentLogger } from '@mini-blog/common/service';
import type { BusClient } from '@mini-blog/common/transport';
import { createBusClient, createDeliveryRouter } from '@mini-blog/common/transport/http';
import { MemoryBus, waitFor } from '@mini-blog/common/testing';
import { parsePublishAcl } from '../src/config';
import {
  FakeSubscriber,
  listen,
  openTestBus,
  postCreated,
  publishPostBatch,
  secretOf,
  subscriber,
  TESTER,
  TESTER_ACL,
  type TestBus,
} from './helpers';

const comment = (n: number): NewEvent => ({
  type: 'CommentCreated',
  data: { id: `c${n}`, postId: 'post-1', content: `Comment ${n}`, status: 'pending' },
});
const seqsOf = (events: readonly { seq: number }[]) => events.map((event) => event.seq);

describe('delivery options', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function fake(): Promise<FakeSubscriber> {
    const subscriberServer = await new FakeSubscriber().start();
    cleanups.push(() => subscriberServer.stop());
    return subscriberServer;
  }

  function open(...args: Parameters<typeof openTestBus>): TestBus {
    const bus = openTestBus(...args);
    cleanups.push(() => bus.close());
    return bus;
  }

  describe('batch subscribers', () => {
    it('get ordered arrays of envelopes while course-style subscribers get one envelope per request', async () => {
      const [batch, single] = [await fake(), await fake()];
      const bus = open([subscriber('batch', batch.url, { batch: true }), subscriber('single', single.url)]);

      await bus
        .as('posts')
        .post('/events')
        .send(Array.from({ length: 300 }, (_, n) => postCreated(n)))
        .expect(201);

      await waitFor(
        () => batch.received.length === 300 && single.received.length === 300,
        'both subscribers to receive 300 events',
      );
      expect(seqsOf(batch.received)).toEqual(seqsOf(single.received));
      expect(seqsOf(batch.received)).toEqual(Array.from({ length: 300 }, (_, n) => n + 1));
      expect(batch.deliveries.every((delivery) => delivery.batch)).toBe(true);
      expect(batch.deliveries.length).toBeLessThan(10);
      expect(single.deliveries).toHaveLength(300);
      expect(single.deliveries.every((delivery) => !delivery.batch)).toBe(true);
    });

    it('keeps each batch body under the services\u2019 100 kB limit', async () => {
      const batch = await fake();
      const bus = open([subscriber('batch', batch.url, { batch: true })]);
      const long = Array.from({ length: 500 }, (_, n): NewEvent => ({
        type: 'CommentCreated',
        data: { id: `c${n}`, postId: 'p', content: 'x'.repeat(900), status: 'pending' },
      }));

      await bus.as('comments').post('/events').send(long).expect(201);

      await waitFor(() => batch.received.length === 500, 'all 500 long events');
      expect(Math.max(...batch.deliveries.map((delivery) => Buffer.byteLength(delivery.raw)))).toBeLessThan(100 * 1024);
    });

    it('sends bodies that are compact JSON (what signed deliveries are verified against)', async () => {
      const batch = await fake();
      const bus = open([subscriber('batch', batch.url, { batch: true })]);

      const odd = 'Caf\u00e9 "quoted" \\ \u0001 \u007f \u2028 \ud83d\ude00';
      await bus
        .as('posts')
        .post('/events')
        .send([postCreated(1), { type: 'PostCreated', id: `id ${odd}`, data: { id: 'p\u00e9', title: odd } }])
        .expect(201);

      await waitFor(() => batch.received.length === 2, 'both events');
      for (const delivery of batch.deliveries) expect(JSON.stringify(JSON.parse(delivery.raw))).toBe(delivery.raw);
      expect(batch.received[1]).toMatchObject({ id: `id ${odd}`, data: { title: odd } });
    });
  });

  describe("a course-style subscriber's replay (GET /events, the whole log)", () => {
    it('holds what was delivered to it, so that with the deliveries each event comes once; batch subscribers and admin read the whole log', async () => {
      const [single, down, batchDown] = [await fake(), await fake(), await fake()];
      await down.stop();
      await batchDown.stop();
      const bus = open([
        subscriber('single', single.url),
        subscriber('down', down.url),
        subscriber('batch', batchDown.url, { batch: true }),
      ]);
      const replay = async (principal: string) =>
        seqsOf((await bus.as(principal).get('/events').expect(200)).body as Envelope[]);

      await publishPostBatch(bus, 3);
      await waitFor(() => single.received.length === 3, 'the three deliveries');

      expect(await replay('single')).toEqual([1, 2, 3]);
      // Down since before the events: its replay holds none of them, its deliveries bring all three.
      expect(await replay('down')).toEqual([]);
      expect(await replay('batch')).toEqual([1, 2, 3]);
      expect(await replay('admin')).toEqual([1, 2, 3]);

      await down.start();
      await waitFor(() => down.received.length === 3, 'the three deliveries once it is up');
      expect(seqsOf(down.received)).toEqual([1, 2, 3]);
      expect(await replay('down')).toEqual([1, 2, 3]);
    });
  });

  describe('type filters', () => {
    it('deliver only the listed types, with x-bus-cursor at the last event the subscriber acknowledged', async () => {
      const filtered = await fake();
      const bus = open([subscriber('comments', filtered.url, { types: ['CommentCreated'] })], { acl: TESTER_ACL });

      await bus
        .as(TESTER)
        .post('/events')
        .send([postCreated(1), comment(2), postCreated(3), postCreated(4)])
        .expect(201);
      await waitFor(() => bus.bus.fanOut.statuses()[0]!.cursor === 4, 'the cursor to move past the filtered tail');
      await bus
        .as(TESTER)
        .post('/events')
        .send([comment(5), postCreated(6)])
        .expect(201);

      await waitFor(() => bus.bus.fanOut.statuses()[0]!.cursor === 6, 'the cursor to move past the filtered tail');
      expect(seqsOf(filtered.received)).toEqual([2, 5]);
      // 2 was the last delivery: the hole 3..4 is filtered out, not a gap the consumer must read.
      expect(filtered.deliveries.map((delivery) => delivery.cursor)).toEqual([0, 2]);
      expect(bus.bus.fanOut.statuses()[0]).toMatchObject({ cursor: 6, acked: 5, lag: 0 });
    });

    it('let the common consumer tell filtered holes from gaps: after its catch-up it reads no gap, only where the log ends', async () => {
      const applied: Envelope[] = [];
      const reads: { after: number; limit?: number }[] = [];
      // The consumer must listen before the bus is configured with its URL, and read the bus after.
      const link: { client?: BusClient } = {};
      const consumer = createConsumer({
        name: 'comments',
        bus: {
          publish: (event) => link.client!.publish(event),
          publishBatch: (events) => link.client!.publishBatch(events),
          readLog: (options) => {
            reads.push({ after: options.after, limit: options.limit });
            return link.client!.readLog(options);
          },
        },
        types: ['CommentCreated'],
        apply: (event) => void applied.push(event),
        logger: silentLogger(),
      });
      const consumerServer = await listen(
        createHttpApp({
          logger: silentLogger(),
          routes: (app) => app.use(createDeliveryRouter(consumer, { secrets: [secretOf('comments')] })),
        }),
      );
      cleanups.push(() => consumerServer.close());
      // The posts it publishes too stand for the other services' events around its own.
      const acl = parsePublishAcl('comments=CommentCreated+PostCreated');
      const bus = open(
        [subscriber('comments', `${consumerServer.url}/events`, { types: ['CommentCreated'], batch: true })],
        { acl },
      );
      const busServer = await listen(bus.app);
      cleanups.push(() => busServer.close());
      const client = createBusClient({ url: busServer.url, token: secretOf('comments') });
      link.client = client;
      await consumer.start();
      const readsAtStart = reads.length;

      for (let round = 0; round < 5; round += 1) {
        // The subscriber's last event is followed by filtered ones: the bus's scan runs ahead of it.
        await client.publishBatch([comment(30 + round), postCreated(10 + round), postCreated(20 + round)]);
        await waitFor(() => bus.bus.fanOut.statuses()[0]!.lag === 0, `round ${round} to be delivered`);
      }

      expect(seqsOf(applied)).toEqual([1, 4, 7, 10, 13]);
      // One event at most: the check that the delivered seq is not past the log's end (none reads the holes).
      expect(reads.slice(readsAtStart).every(({ limit }) => limit === 1)).toBe(true);
    });
  });

  describe('signed deliveries', () => {
    const SECRET = 'a-delivery-secret-of-forty-three-characters';
    const NEXT_SECRET = 'the-next-delivery-secret-43-characters-long';

    async function consumerFor(secrets: readonly [string, ...string[]]) {
      const applied: Envelope[] = [];
      const consumer = createConsumer({
        name: 'signed',
        bus: new MemoryBus(),
        types: ['PostCreated'],
        apply: (event) => void applied.push(event),
        logger: silentLogger(),
      });
      await consumer.start();
      const server = await listen(
        createHttpApp({
          logger: silentLogger(),
          routes: (app) => app.use(createDeliveryRouter(consumer, { secrets })),
        }),
      );
      cleanups.push(() => server.close());
      return { applied, url: `${server.url}/events` };
    }

    it('are accepted by a consumer holding the secret, in single and batch mode', async () => {
      const single = await consumerFor([SECRET]);
      const batch = await consumerFor([NEXT_SECRET, SECRET]);
      const bus = open([
        subscriber('single', single.url, { secrets: [SECRET] }),
        subscriber('batch', batch.url, { secrets: [SECRET], batch: true }),
      ]);

      await bus
        .as('posts')
        .post('/events')
        .send([postCreated(1), postCreated(2)])
        .expect(201);

      await waitFor(
        () => single.applied.length === 2 && batch.applied.length === 2,
        'both consumers to apply both events',
      );
    });

    it('carry one v2= signature (the body and the cursor) per secret of the subscriber, so either side of a rotation accepts them', async () => {
      const [stillOld, alreadyNew, recorder] = [
        await consumerFor([SECRET]),
        await consumerFor([NEXT_SECRET]),
        await fake(),
      ];
      const secrets = [NEXT_SECRET, SECRET] as const;
      const bus = open([
        subscriber('old', stillOld.url, { secrets }),
        subscriber('new', alreadyNew.url, { secrets }),
        subscriber('recorder', recorder.url, { secrets }),
      ]);

      await bus.as('posts').post('/events').send(postCreated(1)).expect(201);

      await waitFor(
        () => stillOld.applied.length === 1 && alreadyNew.applied.length === 1 && recorder.received.length === 1,
        'every subscriber to take the event',
      );
      const { headers } = recorder.deliveries[0]!;
      expect(headers['x-bus-signature']).toMatch(/^v2=[0-9a-f]{64} v2=[0-9a-f]{64}$/);
      expect(headers['x-bus-delivery-id']).toEqual(expect.any(String));
      expect(Math.abs(Number(headers['x-bus-timestamp']) - Date.now() / 1000)).toBeLessThan(60);
    });

    it('are retried, not parked, while the consumer refuses the signature with 401', async () => {
      const consumer = await consumerFor([NEXT_SECRET]);
      const bus = open([subscriber('signed', consumer.url, { secrets: [SECRET] })], { poisonAttempts: 2 });

      await bus.as('posts').post('/events').send(postCreated(1)).expect(201);

      const status = await waitFor(() => {
        const current = bus.bus.fanOut.statuses()[0]!;
        return current.attempts >= 4 && current;
      }, 'several failed attempts');
      expect(status).toMatchObject({ parked: 0, cursor: 0, lastError: 'HTTP 401' });
      expect(consumer.applied).toEqual([]);
    });
  });
});
