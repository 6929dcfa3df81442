import type { Express } from 'express';
import request from 'supertest';
import { BusUnavailableError, type LogPage, type PublishResult, type ReadLogOptions } from '../src/transport';
import { createDeliveryRouter } from '../src/transport/http';
import { createConsumer, UNCHECKED_SKIP_AHEAD, type Consumer } from '../src/service/consumer';
import { EVENT_TYPES, type Envelope, type EventType, type NewEvent } from '../src/events';
import { createHttpApp } from '../src/service/http-app';
import { silentLogger } from '../src/service/logger';
import { MemoryBus, waitFor } from '../src/testing';

/**
 * The in-memory bus of `common/testing`, recording what the consumer asks of it. Events stored with
 * `store` stand for other services' publishes and are not recorded.
 */
class RecordingBus extends MemoryBus {
  readonly reads: ReadLogOptions[] = [];
  readonly publishAttempts: NewEvent[] = [];
  /** How many of the next publishes fail as if the bus were down. */
  failingPublishes = 0;
  /** How many of the next log reads fail as if the bus were down. */
  failingReads = 0;

  /** While set, each log read answers (with the page as it was when asked) only once `releaseReads` is called. */
  private gate: { readonly opened: Promise<void>; readonly open: () => void } | undefined;
  /** Reads waiting at the gate. */
  heldReads = 0;

  override async readLog(options: ReadLogOptions): Promise<LogPage> {
    this.reads.push(options);
    this.failIfDown('failingReads', 'connection refused');
    const page = await super.readLog(options);
    const gate = this.gate;
    if (gate) {
      this.heldReads += 1;
      await gate.opened;
      this.heldReads -= 1;
    }
    return page;
  }

  /** Holds the reads from now on, each answered once `releaseReads` is called: a read in flight. */
  holdReads(): void {
    let open: () => void = () => undefined;
    const opened = new Promise<void>((resolve) => {
      open = resolve;
    });
    this.gate = { opened, open };
  }

  /** Answers the reads held, and holds no more. */
  releaseReads(): void {
    const gate = this.gate;
    this.gate = undefined;
    gate?.open();
  }

  override async publish(event: NewEvent): Promise<PublishResult> {
    this.publishAttempts.push(event);
    this.failIfDown('failingPublishes', 'answered 503');
    return super.publish(event);
  }

  /** Fails as a bus that is down while the count of failures to come is above 0, counting one down. */
  private failIfDown(count: 'failingReads' | 'failingPublishes', message: string): void {
    if (this[count] === 0) return;
    this[count] -= 1;
    throw new BusUnavailableError(message);
  }

  /** Appends events as other services would, and returns their envelopes. */
  async store(...events: NewEvent[]): Promise<Envelope[]> {
    const results = await this.publishBatch(events);
    return results.map(({ seq }) => this.log[seq - 1]!);
  }
}

const postCreated = (id: string): NewEvent => ({
  type: 'PostCreated',
  data: { id, title: `Post ${id}` },
  id: `PostCreated:${id}`,
});
const commentCreated = (id: string, postId: string): NewEvent => ({
  type: 'CommentCreated',
  data: { id, postId, content: 'Nice', status: 'pending' },
  id: `CommentCreated:${id}`,
});
const commentModerated = (id: string, postId: string): NewEvent => ({
  type: 'CommentModerated',
  data: { id, postId, content: 'Nice', status: 'approved' },
  id: `CommentModerated:${id}`,
});

interface Setup {
  readonly bus: RecordingBus;
  readonly consumer: Consumer;
  readonly app: Express;
  /** The events apply saw, in the order it saw them. */
  readonly applied: Envelope[];
  readonly appliedSeqs: () => number[];
}

let current: Setup | undefined;

/**
 * A consumer over a recording bus; with `moderates`, it answers every new comment with its
 * moderation; with `failures`, its first that many applies throw (a broken invariant).
 */
function setup({
  types = EVENT_TYPES,
  moderates = false,
  failures = 0,
  pageSize,
  maxPendingReactions,
}: {
  types?: readonly EventType[];
  moderates?: boolean;
  failures?: number;
  pageSize?: number;
  maxPendingReactions?: number;
} = {}): Setup {
  const bus = new RecordingBus();
  const applied: Envelope[] = [];
  let failuresLeft = failures;
  const consumer = createConsumer({
    name: 'test-service',
    bus,
    types,
    logger: silentLogger(),
    pageSize,
    maxPendingReactions,
    apply: (event) => {
      if (failuresLeft > 0) {
        failuresLeft -= 1;
        throw new Error('state invariant broken');
      }
      applied.push(event);
      if (moderates && event.type === 'CommentCreated') return [commentModerated(event.data.id, event.data.postId)];
      return [];
    },
  });
  const app = createHttpApp({
    logger: silentLogger(),
    isReady: () => consumer.isReady,
    routes: (a) => a.use(createDeliveryRouter(consumer, { secrets: 'unsigned' })),
  });
  current = { bus, consumer, app, applied, appliedSeqs: () => applied.map((event) => event.seq) };
  return current;
}

/** A started consumer that moderates, and three new comments in the log, not yet delivered to it. */
async function moderatorWithThreeComments() {
  const service = setup({ moderates: true });
  await service.consumer.start();
  const comments = await service.bus.store(
    commentCreated('c1', 'p1'),
    commentCreated('c2', 'p1'),
    commentCreated('c3', 'p1'),
  );
  return { ...service, comments };
}

/** Starts the consumer, stores one post in the log, and delivers it twice: the two answers. */
async function deliverOnePostTwice({ bus, consumer, app }: Setup) {
  await consumer.start();
  const [event] = await bus.store(postCreated('p1'));
  const first = await request(app).post('/events').send(event);
  const second = await request(app).post('/events').send(event);
  return [first, second] as const;
}

afterEach(() => {
  current?.consumer.close();
  current = undefined;
  jest.restoreAllMocks();
});

describe('Consumer', () => {
  describe('whenReady()', () => {
    it('resolves once the startup replay has caught up, not before', async () => {
      const { bus, consumer } = setup();
      await bus.store(postCreated('p1'));
      let ready = false;
      const waiting = consumer.whenReady().then(() => {
        ready = true;
      });

      await Promise.resolve();
      const before = ready;
      await consumer.start();
      await waiting;

      expect(before).toBe(false);
      expect(ready).toBe(true);
      expect(consumer.currentPosition).toBe(1);
    });
  });

  describe('start()', () => {
    it('skips an event of the log that breaks the catalog, saying which field, and applies the others as they are', async () => {
      const bus = new RecordingBus();
      await bus.store(postCreated('p1'));
      bus.log.push({
        id: 'broken',
        seq: 2,
        type: 'PostCreated',
        data: { id: '', title: 5 },
        time: '',
      } as unknown as Envelope);
      await bus.store({
        type: 'CommentCreated',
        data: { id: 'c1', postId: 'p1', content: 'Nice', status: 'pending', mood: 'happy' },
        id: 'CommentCreated:c1',
      } as NewEvent);
      const logger = silentLogger();
      const errors = jest.spyOn(logger, 'error');
      const applied: Envelope[] = [];
      const consumer = createConsumer({
        name: 'test-service',
        bus,
        types: EVENT_TYPES,
        logger,
        apply: (event) => void applied.push(event),
      });

      await consumer.start();
      consumer.close();

      expect(applied.map((event) => event.seq)).toEqual([1, 3]);
      expect(applied[1]!.data).toEqual({ id: 'c1', postId: 'p1', content: 'Nice', status: 'pending', mood: 'happy' });
      expect(consumer.currentPosition).toBe(3);
      expect(errors).toHaveBeenCalledWith(
        { seq: 2, issues: 'data.id: must not be empty; data.title: must be a string' },
        'skipping an invalid event in the log',
      );
    });

    it('asks for the next page before applying the one it has, so that the bus reads it meanwhile', async () => {
      const bus = new RecordingBus();
      await bus.store(...['p1', 'p2', 'p3', 'p4', 'p5'].map(postCreated));
      const readsWhenApplied: number[] = [];
      const consumer = createConsumer({
        name: 'test-service',
        bus,
        types: EVENT_TYPES,
        logger: silentLogger(),
        pageSize: 2,
        apply: () => {
          readsWhenApplied.push(bus.reads.length);
        },
      });

      await consumer.start();
      consumer.close();

      expect(readsWhenApplied).toEqual([2, 2, 3, 3, 3]);
      expect(bus.reads.map((read) => read.after)).toEqual([0, 2, 4]);
    });

    it('replays the whole log in seq order and becomes ready', async () => {
      const { bus, consumer, appliedSeqs } = setup();
      await bus.store(postCreated('p1'), commentCreated('c1', 'p1'), postCreated('p2'));

      expect(consumer.isReady).toBe(false);
      await consumer.start();

      expect(appliedSeqs()).toEqual([1, 2, 3]);
      expect(consumer.isReady).toBe(true);
      expect(consumer.currentPosition).toBe(3);
    });

    it('is ready at position 0 on an empty log', async () => {
      const { consumer, applied } = setup();

      await consumer.start();

      expect(consumer.isReady).toBe(true);
      expect(consumer.currentPosition).toBe(0);
      expect(applied).toEqual([]);
    });

    it('pages through a log longer than one page', async () => {
      const { bus, consumer, appliedSeqs } = setup({ pageSize: 2 });
      await bus.store(...['p1', 'p2', 'p3', 'p4', 'p5'].map(postCreated));

      await consumer.start();

      expect(appliedSeqs()).toEqual([1, 2, 3, 4, 5]);
      expect(bus.reads.map(({ after, limit }) => ({ after, limit }))).toEqual([
        { after: 0, limit: 2 },
        { after: 2, limit: 2 },
        { after: 4, limit: 2 },
      ]);
    });

    it('reads only the types it handles, and its position still reaches the head', async () => {
      const { bus, consumer, appliedSeqs } = setup({ types: ['PostCreated'] });
      await bus.store(postCreated('p1'), commentCreated('c1', 'p1'), postCreated('p2'), commentCreated('c2', 'p2'));

      await consumer.start();

      expect(bus.reads[0]?.types).toEqual(['PostCreated']);
      expect(appliedSeqs()).toEqual([1, 3]);
      expect(consumer.currentPosition).toBe(4);
    });

    it('makes /readyz answer 503 until it has caught up', async () => {
      const { consumer, app } = setup();

      const before = await request(app).get('/readyz');
      await consumer.start();
      const after = await request(app).get('/readyz');

      expect(before.status).toBe(503);
      expect(after.status).toBe(200);
    });
  });

  describe('POST /events', () => {
    it('answers 503 to a delivery before the replay has caught up, and applies nothing', async () => {
      const { bus, app, applied } = setup();
      const [event] = await bus.store(postCreated('p1'));

      const res = await request(app).post('/events').send(event);

      expect(res.status).toBe(503);
      expect(res.body.message).toBe('test-service: catching up with the log, deliver again later');
      expect(applied).toEqual([]);
    });

    it('applies a duplicate delivery once', async () => {
      const service = setup();

      const [first, second] = await deliverOnePostTwice(service);

      expect(first.status).toBe(200);
      expect(second.status).toBe(200);
      expect(service.appliedSeqs()).toEqual([1]);
      expect(second.body).toEqual({ status: 'ok', position: 1 });
    });

    it('ignores a delivery of an event the replay has already applied', async () => {
      const { bus, consumer, app, appliedSeqs } = setup();
      const [event] = await bus.store(postCreated('p1'));
      await consumer.start();

      const res = await request(app).post('/events').send(event);

      expect(res.status).toBe(200);
      expect(appliedSeqs()).toEqual([1]);
    });

    it('applies the next event in order without reading the log', async () => {
      const { bus, consumer, app, appliedSeqs } = setup();
      await consumer.start();
      const [post, comment] = await bus.store(postCreated('p1'), commentCreated('c1', 'p1'));
      const readsAfterStart = bus.reads.length;

      await request(app).post('/events').send(post);
      await request(app).post('/events').send(comment);

      expect(appliedSeqs()).toEqual([1, 2]);
      expect(bus.reads).toHaveLength(readsAfterStart);
    });

    it('fills the gap from the log when a comment arrives before its post', async () => {
      const { bus, consumer, app, applied } = setup();
      await consumer.start();
      const [post, comment] = await bus.store(postCreated('p1'), commentCreated('c1', 'p1'));

      const early = await request(app).post('/events').send(comment);
      const late = await request(app).post('/events').send(post);

      expect(early.status).toBe(200);
      expect(late.status).toBe(200);
      expect(applied.map((event) => event.id)).toEqual(['PostCreated:p1', 'CommentCreated:c1']);
    });

    it('applies everything once in seq order whatever order the deliveries come in', async () => {
      const { bus, consumer, app, appliedSeqs } = setup();
      await consumer.start();
      const events = await bus.store(
        postCreated('p1'),
        commentCreated('c1', 'p1'),
        commentModerated('c1', 'p1'),
        postCreated('p2'),
        commentCreated('c2', 'p2'),
      );
      const order = [4, 2, 0, 3, 1, 4, 0];

      const answers = await Promise.all(order.map((index) => request(app).post('/events').send(events[index])));

      expect(answers.map((res) => res.status)).toEqual(order.map(() => 200));
      expect(appliedSeqs()).toEqual([1, 2, 3, 4, 5]);
    });

    it('applies a batch in seq order', async () => {
      const { bus, consumer, app, appliedSeqs } = setup();
      await consumer.start();
      const [post, comment] = await bus.store(postCreated('p1'), commentCreated('c1', 'p1'));

      const res = await request(app).post('/events').send([comment, post]);

      expect(res.status).toBe(200);
      expect(appliedSeqs()).toEqual([1, 2]);
    });

    it('fills a hole inside a batch delivered without the cursor header', async () => {
      const { bus, consumer, app, appliedSeqs } = setup();
      await consumer.start();
      const [post, , moderation] = await bus.store(
        postCreated('p1'),
        commentCreated('c1', 'p1'),
        commentModerated('c1', 'p1'),
      );

      const res = await request(app).post('/events').send([post, moderation]);

      expect(res.status).toBe(200);
      expect(appliedSeqs()).toEqual([1, 2, 3]);
    });

    it('accepts an empty batch and changes nothing', async () => {
      const { consumer, app, applied } = setup();
      await consumer.start();

      const res = await request(app).post('/events').send([]);

      expect(res.status).toBe(200);
      expect(applied).toEqual([]);
    });

    it('moves its position past an event of a type it does not handle', async () => {
      const { bus, consumer, app, applied } = setup({ types: ['PostCreated'] });
      await consumer.start();
      const [comment] = await bus.store(commentCreated('c1', 'p1'));

      const res = await request(app).post('/events').send(comment);

      expect(res.status).toBe(200);
      expect(applied).toEqual([]);
      expect(consumer.currentPosition).toBe(1);
    });

    describe('with the x-bus-cursor header (a filtered stream with holes)', () => {
      it('reads nothing when the cursor is at or below the position and the events are near the head the log reported', async () => {
        const { bus, consumer, app, appliedSeqs } = setup({ types: ['PostCreated'] });
        await consumer.start();
        const [first, , , second] = await bus.store(
          postCreated('p1'),
          commentCreated('c1', 'p1'),
          commentCreated('c2', 'p1'),
          postCreated('p2'),
        );
        const readsAfterStart = bus.reads.length;

        await request(app).post('/events').set('x-bus-cursor', '0').send(first);
        await request(app).post('/events').set('x-bus-cursor', '1').send(second);

        expect(appliedSeqs()).toEqual([1, 4]);
        expect(bus.reads.slice(readsAfterStart)).toEqual([]);
        expect(consumer.currentPosition).toBe(4);
      });

      it(`reads only where the log ends, never a gap, when the events reach more than ${UNCHECKED_SKIP_AHEAD} past the head the log reported`, async () => {
        const { bus, consumer, app, appliedSeqs } = setup({ types: ['PostCreated'] });
        await consumer.start();
        const filler = Array.from({ length: UNCHECKED_SKIP_AHEAD }, (_, index) => commentCreated(`c${index}`, 'p1'));
        const stored = await bus.store(...filler, postCreated('p1'));
        const post = stored.at(-1)!;
        const readsAfterStart = bus.reads.length;

        await request(app).post('/events').set('x-bus-cursor', '0').send(post).expect(200);

        expect(post.seq).toBe(UNCHECKED_SKIP_AHEAD + 1);
        expect(appliedSeqs()).toEqual([post.seq]);
        expect(bus.reads.slice(readsAfterStart)).toEqual([
          { after: UNCHECKED_SKIP_AHEAD, limit: 1, types: ['PostCreated'] },
        ]);
      });

      it('reads the log up to the cursor when the cursor is above the position', async () => {
        const { bus, consumer, app, appliedSeqs } = setup({ types: ['PostCreated'] });
        await consumer.start();
        const [, , , second] = await bus.store(
          postCreated('p1'),
          commentCreated('c1', 'p1'),
          commentCreated('c2', 'p1'),
          postCreated('p2'),
        );
        const readsAfterStart = bus.reads.length;

        const res = await request(app).post('/events').set('x-bus-cursor', '3').send(second);

        expect(res.status).toBe(200);
        expect(bus.reads.slice(readsAfterStart).map(({ after }) => after)).toEqual([0]);
        expect(appliedSeqs()).toEqual([1, 4]);
      });

      it('reads the log when the cursor is above the position even for the next seq', async () => {
        const { bus, consumer, appliedSeqs } = setup();
        await consumer.start();
        const [, comment] = await bus.store(postCreated('p1'), commentCreated('c1', 'p1'));

        await consumer.deliver([comment!], 1);

        expect(appliedSeqs()).toEqual([1, 2]);
      });
    });

    it('answers 503 when the gap cannot be read because the bus is down, and recovers on redelivery', async () => {
      const { bus, consumer, app, appliedSeqs } = setup();
      await consumer.start();
      const [, comment] = await bus.store(postCreated('p1'), commentCreated('c1', 'p1'));
      bus.failingReads = 1;

      const failed = await request(app).post('/events').send(comment);
      const retried = await request(app).post('/events').send(comment);

      expect(failed.status).toBe(503);
      expect(retried.status).toBe(200);
      expect(appliedSeqs()).toEqual([1, 2]);
    });

    it('answers 503 when where the log ends cannot be read, applying nothing, and applies it on redelivery', async () => {
      const { bus, consumer, app, appliedSeqs } = setup({ types: ['PostCreated'] });
      await consumer.start();
      const filler = Array.from({ length: UNCHECKED_SKIP_AHEAD }, (_, index) => commentCreated(`c${index}`, 'p1'));
      const [first, ...rest] = await bus.store(postCreated('p1'), ...filler, postCreated('p2'));
      const second = rest.at(-1)!;
      await request(app).post('/events').set('x-bus-cursor', '0').send(first).expect(200);
      bus.failingReads = 1;

      const failed = await request(app).post('/events').set('x-bus-cursor', '1').send(second);
      const appliedWhileDown = appliedSeqs();
      const retried = await request(app).post('/events').set('x-bus-cursor', '1').send(second);

      expect(failed.status).toBe(503);
      expect(appliedWhileDown).toEqual([1]);
      expect(retried.status).toBe(200);
      expect(appliedSeqs()).toEqual([1, second.seq]);
    });

    it('answers 400 naming the field of an invalid event, and applies nothing', async () => {
      const { bus, consumer, app, applied } = setup();
      await consumer.start();
      const [event] = await bus.store(postCreated('p1'));

      const res = await request(app)
        .post('/events')
        .send({ ...event, data: { id: 'p1' } });

      expect(res.status).toBe(400);
      expect(res.body).toEqual({ message: 'data.title: is required', fields: { 'data.title': 'is required' } });
      expect(applied).toEqual([]);
    });

    it('answers 400 naming type for an unknown event type', async () => {
      const { consumer, app } = setup();
      await consumer.start();

      const res = await request(app)
        .post('/events')
        .send({ id: 'x', seq: 1, type: 'PostDeleted', data: {}, time: new Date().toISOString() });

      expect(res.status).toBe(400);
      expect(res.body.message).toMatch(/^type: must be one of /);
    });

    it('answers 400 naming seq for a course-style event without an envelope', async () => {
      const { consumer, app } = setup();
      await consumer.start();

      const res = await request(app)
        .post('/events')
        .send({ type: 'PostCreated', data: { id: 'p1', title: 't' } });

      expect(res.status).toBe(400);
      expect(res.body.fields).toMatchObject({ seq: 'is required' });
    });

    it('answers 400 naming the index and field of an invalid event in a batch, and applies none of the batch', async () => {
      const { bus, consumer, app, applied } = setup();
      await consumer.start();
      const [post, comment] = await bus.store(postCreated('p1'), commentCreated('c1', 'p1'));

      const res = await request(app)
        .post('/events')
        .send([post, { ...comment, data: { ...comment!.data, status: 7 } }]);

      expect(res.status).toBe(400);
      expect(res.body.message).toMatch(/^1\.data\.status: /);
      expect(applied).toEqual([]);
    });
  });

  describe('when apply throws', () => {
    it('does not count the event as applied, so that a redelivery applies it', async () => {
      const service = setup({ failures: 1 });

      const [failed, redelivered] = await deliverOnePostTwice(service);

      expect(failed.status).toBe(500);
      expect(redelivered.status).toBe(200);
      expect(service.appliedSeqs()).toEqual([1]);
      expect(service.consumer.currentPosition).toBe(1);
    });
  });

  describe('reactions', () => {
    describe('the outbox bound', () => {
      it('refuses deliveries with 503 while the outbox is full, applying nothing, and takes them once it has drained', async () => {
        const { bus, consumer, app, appliedSeqs } = setup({ moderates: true, maxPendingReactions: 2 });
        await consumer.start();
        const comments = await bus.store(
          commentCreated('c1', 'p1'),
          commentCreated('c2', 'p1'),
          commentCreated('c3', 'p1'),
        );
        bus.failWith = new BusUnavailableError('connection refused');

        await request(app).post('/events').send(comments[0]).expect(200);
        await request(app).post('/events').send(comments[1]).expect(200);
        const refused = await request(app).post('/events').send(comments[2]);
        const appliedWhileFull = appliedSeqs();
        bus.failWith = undefined;
        await waitFor(() => consumer.pendingReactions === 0, 'the outbox to drain once the bus is back');
        const retried = await request(app).post('/events').send(comments[2]);

        expect(refused.status).toBe(503);
        expect(refused.body.message).toBe(
          'test-service: 2 reactions wait to be published (the bus may be down); deliver again later',
        );
        expect(appliedWhileFull).toEqual([1, 2]);
        expect(retried.status).toBe(200);
        expect(appliedSeqs()).toEqual([1, 2, 3]);
      });

      it('publishes during the replay when the outbox is full, so it holds at most the bound and a page, and stores each reaction once', async () => {
        const { bus, consumer } = setup({ moderates: true, pageSize: 2, maxPendingReactions: 3 });
        const created = ['c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7', 'c8'].map((id) => commentCreated(id, 'p1'));
        // c1's verdict is already stored, after the comments: the early publish finds it a duplicate.
        await bus.store(...created, commentModerated('c1', 'p1'));
        const sizes: number[] = [];
        const publishBatch = bus.publishBatch.bind(bus);
        jest.spyOn(bus, 'publishBatch').mockImplementation((events) => {
          sizes.push(consumer.pendingReactions);
          return publishBatch(events);
        });

        await consumer.start();
        await waitFor(() => consumer.pendingReactions === 0, 'the rest of the outbox to be published');

        expect(Math.max(...sizes)).toBeLessThanOrEqual(3 + 2);
        expect(sizes.length).toBeGreaterThan(1);
        expect(
          bus
            .ofType('CommentModerated')
            .map((event) => event.data.id)
            .sort(),
        ).toEqual(['c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7', 'c8']);
      });
    });

    it('publishes the events apply returns', async () => {
      const { bus, consumer, app } = setup({ moderates: true });
      await consumer.start();
      const [comment] = await bus.store(commentCreated('c1', 'p1'));

      await request(app).post('/events').send(comment);
      await waitFor(() => bus.ofType('CommentModerated').length === 1, 'the moderation to be stored');

      expect(bus.ofType('CommentModerated')[0]).toMatchObject({
        id: 'CommentModerated:c1',
        seq: 2,
        data: { id: 'c1', postId: 'p1' },
      });
      expect(consumer.pendingReactions).toBe(0);
    });

    it('does not publish again, during catch-up, a reaction that is found later in the log', async () => {
      const { bus, consumer } = setup({ moderates: true });
      await bus.store(commentCreated('c1', 'p1'), postCreated('p2'), commentModerated('c1', 'p1'));

      await consumer.start();

      expect(consumer.pendingReactions).toBe(0);
      expect(bus.publishAttempts).toEqual([]);
      expect(bus.log).toHaveLength(3);
    });

    it('does not publish again a reaction found on a later page of the log', async () => {
      const { bus, consumer } = setup({ moderates: true, pageSize: 1 });
      await bus.store(commentCreated('c1', 'p1'), postCreated('p2'), commentModerated('c1', 'p1'));

      await consumer.start();

      expect(bus.publishAttempts).toEqual([]);
    });

    it('publishes, once caught up, a reaction the log does not have yet', async () => {
      const { bus, consumer } = setup({ moderates: true });
      await bus.store(commentCreated('c1', 'p1'), postCreated('p2'));

      await consumer.start();
      await waitFor(() => bus.ofType('CommentModerated').length === 1, 'the moderation to be stored');

      expect(bus.log.map((event) => event.id)).toEqual(['CommentCreated:c1', 'PostCreated:p2', 'CommentModerated:c1']);
      expect(bus.publishAttempts).toHaveLength(1);
    });

    it('retries a failing publish, with the same event, until it is stored', async () => {
      // No backoff wait: the retries come at once, and the test waits only for the outcome.
      jest.spyOn(Math, 'random').mockReturnValue(0);
      const { bus, consumer, app } = setup({ moderates: true });
      await consumer.start();
      const [comment] = await bus.store(commentCreated('c1', 'p1'));
      bus.failingPublishes = 2;

      const res = await request(app).post('/events').send(comment);
      await waitFor(() => bus.ofType('CommentModerated').length === 1, 'the moderation to be stored');

      expect(res.status).toBe(200);
      expect(bus.publishAttempts.map((event) => event.id)).toEqual([
        'CommentModerated:c1',
        'CommentModerated:c1',
        'CommentModerated:c1',
      ]);
      expect(bus.ofType('CommentModerated')).toHaveLength(1);
      expect(consumer.pendingReactions).toBe(0);
    });

    it('keeps a reaction pending while the bus refuses it', async () => {
      const { bus, consumer } = setup({ moderates: true });
      await consumer.start();
      const [comment] = await bus.store(commentCreated('c1', 'p1'));
      bus.failingPublishes = Number.POSITIVE_INFINITY;

      await consumer.deliver([comment!]);
      await waitFor(() => bus.publishAttempts.length >= 1, 'a publish attempt');

      expect(consumer.pendingReactions).toBe(1);
      expect(bus.ofType('CommentModerated')).toEqual([]);
    });

    it('keeps one retry schedule while the bus is down, however many reactions wait, and publishes them all once it is back', async () => {
      // Backoffs of a quarter of their maximum: the first retry comes after 100 ms.
      jest.spyOn(Math, 'random').mockReturnValue(0.25);
      const { bus, consumer, comments } = await moderatorWithThreeComments();
      bus.failingPublishes = Number.POSITIVE_INFINITY;

      await consumer.deliver([comments[0]!]);
      await consumer.deliver([comments[1]!]);
      await consumer.deliver([comments[2]!]);
      const attemptsWhileWaiting = bus.publishAttempts.length;
      bus.failingPublishes = 0;
      await waitFor(() => bus.ofType('CommentModerated').length === 3, 'every moderation to be stored');

      expect(attemptsWhileWaiting).toBe(1);
      expect(consumer.pendingReactions).toBe(0);
    });

    it('publishes the reactions that pile up during a publish together, in one request', async () => {
      const { bus, consumer, comments } = await moderatorWithThreeComments();
      let release = () => {};
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      const publish = bus.publish.bind(bus);
      jest.spyOn(bus, 'publish').mockImplementationOnce(async (event) => {
        await held;
        return publish(event);
      });
      const batches = jest.spyOn(bus, 'publishBatch');

      for (const comment of comments) await consumer.deliver([comment]);
      release();
      await waitFor(() => bus.ofType('CommentModerated').length === 3, 'every moderation to be stored');

      expect(batches).toHaveBeenCalledTimes(1);
      expect(batches.mock.calls[0]![0].map((event) => event.id)).toEqual([
        'CommentModerated:c2',
        'CommentModerated:c3',
      ]);
      expect(bus.ofType('CommentModerated').map((event) => event.id)).toEqual([
        'CommentModerated:c1',
        'CommentModerated:c2',
        'CommentModerated:c3',
      ]);
      expect(consumer.pendingReactions).toBe(0);
    });

    it('refuses a reaction without a deterministic id', async () => {
      const bus = new RecordingBus();
      const consumer = createConsumer({
        name: 'test-service',
        bus,
        types: EVENT_TYPES,
        logger: silentLogger(),
        apply: () => [{ type: 'PostCreated', data: { id: 'p9', title: 't' } }],
      });
      await consumer.start();
      const [post] = await bus.store(postCreated('p1'));

      await expect(consumer.deliver([post!])).rejects.toThrow(
        'test-service: a reaction to PostCreated needs a deterministic id',
      );
      consumer.close();
    });
  });

  describe('syncToHead()', () => {
    it('makes an event stored after start visible', async () => {
      const { bus, consumer, appliedSeqs } = setup();
      await consumer.start();
      await bus.store(postCreated('p1'));

      expect(appliedSeqs()).toEqual([]);
      await consumer.syncToHead();

      expect(appliedSeqs()).toEqual([1]);
      expect(consumer.currentPosition).toBe(1);
    });

    it('reads every page up to the head', async () => {
      const { bus, consumer, appliedSeqs } = setup({ pageSize: 2 });
      await consumer.start();
      await bus.store(...['p1', 'p2', 'p3', 'p4', 'p5'].map(postCreated));

      await consumer.syncToHead();

      expect(appliedSeqs()).toEqual([1, 2, 3, 4, 5]);
    });

    // Read-your-writes: an event stored before the call (a post answered 201) is applied when it
    // resolves, however the live delivery of that event and other reads of the log are interleaved.
    /**
     * Starts `first` and holds its read of the log; meanwhile runs `meanwhile`, then calls
     * `syncToHead` and lets the reads go. Resolves once that sync has, with `first` still to await.
     */
    async function syncWhileAReadIsHeld(
      { bus, consumer }: Setup,
      first: () => Promise<void>,
      meanwhile: () => Promise<unknown> = async () => undefined,
    ): Promise<{ first: Promise<void> }> {
      bus.holdReads();
      const started = first();
      await waitFor(() => bus.heldReads === 1, 'a read of the log in flight');
      await meanwhile();
      const synced = consumer.syncToHead();
      bus.releaseReads();
      await synced;
      return { first: started };
    }

    it('applies an event stored before the call while the delivery of that event is still reading the log', async () => {
      const context = setup();
      await context.consumer.start();
      const [, post] = await context.bus.store(postCreated('p0'), postCreated('p1'));

      // The delivery of p1 came first: it reads the gap before it (p0) from the log, and waits there.
      const { first: delivery } = await syncWhileAReadIsHeld(context, () => context.consumer.deliver([post!]));

      expect(context.appliedSeqs()).toEqual([1, 2]);
      await delivery;
    });

    it('reads the head anew for an event stored while an earlier sync was reading the log', async () => {
      const context = setup();
      await context.consumer.start();
      await context.bus.store(postCreated('p0'));

      // The earlier sync's page says that the log ends at 1; p1 is stored (answered 201) meanwhile.
      const { first: earlier } = await syncWhileAReadIsHeld(
        context,
        () => context.consumer.syncToHead(),
        () => context.bus.store(postCreated('p1')),
      );

      expect(context.appliedSeqs()).toEqual([1, 2]);
      await earlier;
    });

    it('does not apply twice what a delivery applies at the same time', async () => {
      const { bus, consumer, appliedSeqs } = setup();
      await consumer.start();
      const events = await bus.store(postCreated('p1'), postCreated('p2'));

      await Promise.all([consumer.syncToHead(), consumer.deliver(events), consumer.syncToHead()]);

      expect(appliedSeqs()).toEqual([1, 2]);
    });
  });
});
