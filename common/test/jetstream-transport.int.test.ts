import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { NewEvent } from '../src/events';
import { ConfigError } from '../src/service/config';
import { startTestNatsServer, type TestNatsServer } from '../src/testing/nats-server';
import { waitFor } from '../src/testing/wait-for';
import { BusUnavailableError, ConflictError, IdempotencyConflictError } from '../src/transport/errors';
import { jetstreamTransportFor, STREAM_NAME, type JetStreamTransportOptions } from '../src/transport/jetstream';
import { silentLogger as logger, transportMaker } from './support/jetstream';
import { RecordingSink } from './support/recording-sink';

const post = (n: number, id = `post-${n}`): NewEvent => ({
  type: 'PostCreated',
  id,
  data: { id: `p${n}`, title: `title ${n}` },
});
const comment = (n: number, postId = 'p1'): NewEvent => ({
  type: 'CommentCreated',
  id: `comment-${n}`,
  data: { id: `c${n}`, postId, content: `comment ${n}`, status: 'pending' },
});

describe('the JetStream transport', () => {
  let nats: TestNatsServer;
  const { transport, closeAll } = transportMaker(() => nats);

  beforeAll(async () => {
    nats = await startTestNatsServer();
  });
  afterEach(closeAll);
  afterAll(async () => {
    await nats.stop();
  });

  /** A transport whose live consumer feeds a recording sink, caught up at the log's head now. */
  async function live(name: string, replica: string, extra: Partial<JetStreamTransportOptions> = {}) {
    const created = transport(name, replica, extra);
    const sink = new RecordingSink(name);
    created.connect(sink);
    const start = await headNow();
    sink.caughtUpAt(start);
    await waitFor(() => created.isReady(), 'the consumer to be caught up');
    return { transport: created, sink, start };
  }

  async function headNow(): Promise<number> {
    return (await transport('query', `head-${Date.now()}`).readLog({ after: 0, limit: 1 })).head;
  }

  describe('publish', () => {
    it('answers once the event is stored, and stores an id once', async () => {
      const posts = transport('posts');

      const first = await posts.publish(post(1, 'once-1'));
      const again = await posts.publish(post(1, 'once-1'));

      expect(first).toEqual({ id: 'once-1', seq: expect.any(Number), duplicate: false });
      expect(again).toEqual({ id: 'once-1', seq: first.seq, duplicate: true });
      const page = await posts.readLog({ after: first.seq - 1, limit: 10 });
      expect(page.events.filter((event) => event.id === 'once-1')).toEqual([
        {
          id: 'once-1',
          seq: first.seq,
          type: 'PostCreated',
          data: { id: 'p1', title: 'title 1' },
          time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        },
      ]);
    });

    it('refuses an id stored with other data, and stores nothing', async () => {
      const posts = transport('posts');
      const first = await posts.publish(post(2, 'reused-1'));

      await expect(posts.publish({ ...post(3, 'reused-1') })).rejects.toBeInstanceOf(IdempotencyConflictError);
      expect(await headNow()).toBeGreaterThanOrEqual(first.seq);
      const page = await posts.readLog({ after: first.seq - 1, limit: 100 });
      expect(page.events.filter((event) => event.id === 'reused-1')).toHaveLength(1);
    });

    it('stores a keyed event only when the key is where the publisher expects it', async () => {
      const comments = transport('comments');
      const key = `post-${Date.now()}`;

      const first = await comments.publish({ ...comment(10), key }, { expectedLastSeq: 0 });
      const stale = comments.publish({ ...comment(11), key }, { expectedLastSeq: 0 });

      await expect(stale).rejects.toBeInstanceOf(ConflictError);
      await expect(stale).rejects.toMatchObject({
        lastSeq: first.seq,
        message: `expectedLastSeq: the last event of ${key} is at ${first.seq}`,
      });
      const second = await comments.publish({ ...comment(11), key }, { expectedLastSeq: first.seq });
      expect(second.seq).toBeGreaterThan(first.seq);
      const page = await comments.readLog({ after: first.seq - 1, limit: 10 });
      expect(page.events.filter((event) => event.key === key).map((event) => event.id)).toEqual([
        'comment-10',
        'comment-11',
      ]);
    });

    it('lets a service publish only its own event types', async () => {
      await expect(transport('posts').publish(comment(20))).rejects.toThrow(
        /nats refused CommentCreated from posts: Permissions Violation/,
      );
      await expect(transport('query').publish(post(20))).rejects.toThrow(/nats refused PostCreated from query/);
    });

    it('does not let a service purge or delete the stream', async () => {
      const connection = await connect({
        servers: nats.url,
        user: 'posts',
        pass: nats.passwords.posts,
        inboxPrefix: '_INBOX_posts',
      });
      try {
        const manager = await jetstreamManager(connection, { checkAPI: false });
        await transport('posts').publish(post(21));
        await expect(manager.streams.purge(STREAM_NAME)).rejects.toThrow(/Permissions Violation/);
        await expect(manager.streams.delete(STREAM_NAME)).rejects.toThrow(/Permissions Violation/);
      } finally {
        await connection.close();
      }
    });

    it('answers 503 saying nothing was stored when no server answers', async () => {
      const unreachable = transport('posts', 'r1', {
        servers: ['nats://127.0.0.1:1'],
        timeoutMs: 300,
        publishDeadlineMs: 500,
      });

      const failed = unreachable.publish(post(22));

      await expect(failed).rejects.toBeInstanceOf(BusUnavailableError);
      await expect(failed).rejects.toMatchObject({ name: 'BusUnavailableError', mayBeStored: false });
      await expect(unreachable.readLog({ after: 0 })).rejects.toBeInstanceOf(BusUnavailableError);
    });
  });

  describe('readLog', () => {
    it('reads the log in pages, moving past the types left out', async () => {
      const posts = transport('posts');
      const comments = transport('comments');
      const start = await headNow();
      for (let n = 0; n < 60; n += 1)
        await (n % 3 === 0 ? comments.publish(comment(100 + n)) : posts.publish(post(100 + n)));

      const first = await posts.readLog({ after: start, limit: 40, types: ['CommentCreated'] });
      const second = await posts.readLog({ after: first.next, limit: 40, types: ['CommentCreated'] });

      expect(first.next).toBe(start + 40);
      expect(first.head).toBeGreaterThanOrEqual(start + 60);
      expect(first.events.every((event) => event.type === 'CommentCreated')).toBe(true);
      expect([...first.events, ...second.events].filter((event) => event.seq <= start + 60)).toHaveLength(20);
      expect(second.next).toBeGreaterThanOrEqual(start + 60);
    });

    it('reads a short span message by message, in order', async () => {
      const posts = transport('posts');
      const start = (await posts.publish(post(200))).seq;
      await posts.publish(post(201));
      await posts.publish(post(202));

      const page = await posts.readLog({ after: start, limit: 2 });

      expect(page.events.map((event) => event.id)).toEqual(['post-201', 'post-202']);
      expect(page.next).toBe(start + 2);
    });

    it('answers an empty page at the head', async () => {
      const head = await headNow();
      expect(await transport('query').readLog({ after: head })).toEqual({ events: [], next: head, head });
    });
  });

  describe('live delivery', () => {
    it('delivers what is stored after the replay, in order, each once, with the cursor of the one before', async () => {
      const posts = transport('posts');
      const { sink } = await live('query', 'live-1');

      const stored = [];
      for (let n = 0; n < 20; n += 1) stored.push(await posts.publish(post(300 + n)));

      await waitFor(() => sink.applied.length >= 20, 'twenty deliveries');
      expect(sink.applied.map((event) => event.seq)).toEqual(stored.map((result) => result.seq));
      expect(sink.cursors.slice(1)).toEqual(stored.slice(0, -1).map((result) => result.seq));
    });

    it('delivers every type to every consumer, each with the cursor of the one before (the engine skips what it does not handle)', async () => {
      const { sink, start } = await live('moderation', 'live-2');

      const stored = await transport('posts').publish(post(400));
      const created = await transport('comments').publish(comment(400));

      await waitFor(() => sink.applied.length >= 2, 'the post and the comment');
      expect(sink.applied.map((event) => [event.seq, event.type])).toEqual([
        [stored.seq, 'PostCreated'],
        [created.seq, 'CommentCreated'],
      ]);
      expect(sink.cursors).toEqual([start, stored.seq]);
    });

    it('redelivers an event the service failed to apply, after a pause, and applies it once', async () => {
      const { transport: query, sink, start } = await live('query', 'live-3', { live: { redeliveryBackoffMs: [50] } });
      sink.failures.set(start + 1, 2);

      await transport('posts').publish(post(500));

      await waitFor(() => sink.applied.length === 1, 'the event after two failures');
      expect(sink.applied[0]!.seq).toBe(start + 1);
      expect(query.liveStatus()?.lastError).toBe(`cannot apply ${start + 1}`);
    });

    it('parks an event after the last delivery and goes on with the next', async () => {
      const {
        transport: query,
        sink,
        start,
      } = await live('query', 'live-4', { live: { maxDeliver: 2, redeliveryBackoffMs: [50] } });
      sink.failures.set(start + 1, 100);
      const posts = transport('posts');

      await posts.publish(post(600));
      await waitFor(() => query.liveStatus()?.parked === 1, 'the event to be parked');
      sink.failures.clear();
      const next = await posts.publish(post(601));

      await waitFor(() => sink.applied.some((event) => event.seq === next.seq), 'the next event');
      expect(sink.applied.map((event) => event.seq)).toEqual([next.seq]);
    });

    it('makes the consumer again when an operator deletes it, and goes on from where the service is', async () => {
      const { transport: query, sink } = await live('query', 'live-5');
      const admin = await connect({ servers: nats.url, user: 'admin', pass: nats.passwords.admin });

      try {
        await (await jetstreamManager(admin)).consumers.delete(STREAM_NAME, query.liveStatus()!.durable!);
        const later = await transport('posts').publish(post(700));

        await waitFor(() => sink.applied.some((event) => event.seq === later.seq), 'the event after the deletion', {
          timeoutMs: 20_000,
        });
      } finally {
        await admin.close();
      }
    });

    it("removes the replica's consumer when it closes", async () => {
      const { transport: query } = await live('query', 'live-6');
      const admin = await connect({ servers: nats.url, user: 'admin', pass: nats.passwords.admin });

      try {
        const manager = await jetstreamManager(admin);
        const durable = query.liveStatus()!.durable!;
        expect(durable).toMatch(/^query-[0-7]$/);
        expect((await manager.consumers.info(STREAM_NAME, durable)).name).toBe(durable);
        await query.close();
        await expect(manager.consumers.info(STREAM_NAME, durable)).rejects.toThrow(/consumer not found/);
      } finally {
        await admin.close();
      }
    });
  });

  describe('configuration', () => {
    const context = { name: 'posts', credentials: ['x'.repeat(43)], logger };

    it.each([
      [{}, 'NATS_URL: is required'],
      [{ NATS_URL: '' }, 'NATS_URL: must not be empty'],
      [{ NATS_URL: 'http://nats:4222' }, 'NATS_URL'],
      [{ NATS_URL: 'nats://nats:4222', NATS_STREAM_REPLICAS: '2' }, 'NATS_STREAM_REPLICAS: must be 1, 3 or 5'],
      [{ NATS_URL: 'nats://nats:4222', REPLICA_ID: 'a.b' }, 'REPLICA_ID: must be 1 to 64 letters, digits, _ or -'],
    ])('refuses %j naming the setting', (env, message) => {
      expect(() => jetstreamTransportFor({ ...context, env })).toThrow(ConfigError);
      expect(() => jetstreamTransportFor({ ...context, env })).toThrow(message);
    });

    it('needs the credential: it is the NATS password', () => {
      expect(() =>
        jetstreamTransportFor({ ...context, credentials: undefined, env: { NATS_URL: 'nats://nats:4222' } }),
      ).toThrow('CREDENTIALS_DIR: is required with BUS_TRANSPORT=jetstream');
    });
  });
});
