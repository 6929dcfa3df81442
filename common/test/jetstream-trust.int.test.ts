import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AckPolicy, jetstreamManager, type ConsumerInfo } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import pino from 'pino';
import request from 'supertest';
import type { NewEvent } from '../src/events';
import { createHttpApp } from '../src/service/http-app';
import { spawnNatsServer, startTestNatsServer, stopProcess, type TestNatsServer } from '../src/testing/nats-server';
import { waitFor } from '../src/testing/wait-for';
import {
  inboxPrefix,
  NATS_CLUSTER,
  routeUrl,
  STREAM_NAME,
  subjectOf,
  type JetStreamTransport,
} from '../src/transport/jetstream';
import { silentLogger, transportMaker } from './support/jetstream';
import { RecordingSink } from './support/recording-sink';

/**
 * The JetStream path as an attacker on the same network would try it, against a 3-node cluster:
 * a rogue server that routes to a node, a stolen service credential used on another service's
 * consumers and inboxes, the read-only views' credential used to write, an event published under
 * another principal's key, a consumer changed behind its service's back. Each attack must fail, and
 * nothing may be stored or changed.
 */

jest.setTimeout(60_000);

const post = (n: number): NewEvent => ({
  type: 'PostCreated',
  id: `trust-post-${n}`,
  data: { id: `tp${n}`, title: 't' },
});

describe('trust on the JetStream path (a 3-node cluster)', () => {
  let nats: TestNatsServer;
  const { transport, closeAll } = transportMaker(() => nats);
  const victims: Record<'query' | 'moderation', { transport: JetStreamTransport; sink: RecordingSink }> = {} as never;
  const connections: NatsConnection[] = [];

  /** A raw connection as `principal`, with its own inbox prefix (the only inboxes it may read). */
  async function as(principal: string): Promise<NatsConnection> {
    const connection = await connect({
      servers: nats.url.split(','),
      user: principal,
      pass: nats.passwords[principal],
      inboxPrefix: inboxPrefix(principal),
    });
    connections.push(connection);
    return connection;
  }

  /** The errors the server sends a connection (a refused publish or subscription arrives this way). */
  function errorsOf(connection: NatsConnection): string[] {
    const errors: string[] = [];
    void (async () => {
      for await (const status of connection.status())
        if (status.type === 'error') errors.push(String((status as { error?: unknown }).error));
    })();
    return errors;
  }

  async function admin() {
    return jetstreamManager(await as('admin'), { checkAPI: false });
  }

  async function head(): Promise<number> {
    return (await (await admin()).streams.info(STREAM_NAME)).state.last_seq;
  }

  /** What an attack could have changed in a consumer: its configuration and how far it got. */
  const stateOf = ({ config, delivered, ack_floor, num_ack_pending }: ConsumerInfo) => ({
    config,
    delivered,
    ack_floor,
    num_ack_pending,
  });

  beforeAll(async () => {
    nats = await startTestNatsServer({ nodes: 3 });
    for (const name of ['query', 'moderation'] as const) {
      const created = transport(name, `victim-${name}`);
      const sink = new RecordingSink(name);
      created.connect(sink);
      sink.caughtUpAt(0);
      await waitFor(() => created.isReady(), `${name} to be ready`, { timeoutMs: 30_000 });
      victims[name] = { transport: created, sink };
    }
    await transport('posts', 'seed').publish(post(0));
  });

  afterAll(async () => {
    await Promise.all(connections.map((connection) => connection.close()));
    await closeAll();
    await nats.stop();
  });

  describe.each(['query', 'moderation'] as const)("posts' credential against %s's consumer", (victim) => {
    const durable = () => victims[victim].transport.liveStatus()!.durable!;
    const config = (extra: object = {}) =>
      JSON.stringify({
        stream_name: STREAM_NAME,
        config: {
          durable_name: durable(),
          ack_policy: AckPolicy.Explicit,
          filter_subject: 'blog.PostCreated.*',
          ...extra,
        },
      });

    it.each([
      ['update it (create on its name)', () => `$JS.API.CONSUMER.CREATE.${STREAM_NAME}.${durable()}`, () => config()],
      [
        'update it with the filter in the subject',
        () => `$JS.API.CONSUMER.CREATE.${STREAM_NAME}.${durable()}.blog.PostCreated.*`,
        () => config(),
      ],
      [
        'update it by the old durable API',
        () => `$JS.API.CONSUMER.DURABLE.CREATE.${STREAM_NAME}.${durable()}`,
        () => config(),
      ],
      ['read it', () => `$JS.API.CONSUMER.INFO.${STREAM_NAME}.${durable()}`, () => ''],
      ['delete it', () => `$JS.API.CONSUMER.DELETE.${STREAM_NAME}.${durable()}`, () => ''],
      ['pull from it', () => `$JS.API.CONSUMER.MSG.NEXT.${STREAM_NAME}.${durable()}`, () => '{"batch":8}'],
      ['list the consumers', () => `$JS.API.CONSUMER.LIST.${STREAM_NAME}`, () => '{}'],
      [
        'create an ephemeral consumer',
        () => `$JS.API.CONSUMER.CREATE.${STREAM_NAME}`,
        () => config({ durable_name: undefined }),
      ],
      [
        'create a consumer beyond its slots',
        () => `$JS.API.CONSUMER.CREATE.${STREAM_NAME}.posts-99`,
        () => config({ durable_name: 'posts-99' }),
      ],
    ])('cannot %s', async (_what, subject, body) => {
      const manager = await admin();
      const before = stateOf(await manager.consumers.info(STREAM_NAME, durable()));
      const posts = await as('posts');

      await expect(posts.request(subject(), body(), { timeout: 2000 })).rejects.toThrow(/Permissions Violation/);

      expect(stateOf(await manager.consumers.info(STREAM_NAME, durable()))).toEqual(before);
      expect(await manager.consumers.info(STREAM_NAME, 'posts-99').catch(() => 'none')).toBe('none');
    });

    it('cannot acknowledge its messages, nor read its inbox, the default inboxes or the events', async () => {
      const manager = await admin();
      const posts = await as('posts');
      const errors = errorsOf(posts);
      const before = stateOf(await manager.consumers.info(STREAM_NAME, durable()));

      posts.publish(`$JS.ACK.${STREAM_NAME}.${durable()}.1.1.1.1.0`, '+ACK');
      for (const subject of [`${inboxPrefix(victim)}.>`, '_INBOX.>', 'blog.>']) posts.subscribe(subject);
      await waitFor(() => errors.length >= 4 && errors, 'the four refusals', { timeoutMs: 5000 });

      expect(errors.join('\n')).toMatch(/Permissions Violation for Publish to "\$JS\.ACK\./);
      for (const subject of [`${inboxPrefix(victim)}.>`, '_INBOX.>', 'blog.>'])
        expect(errors.join('\n')).toContain(`Permissions Violation for Subscription to "${subject}"`);
      expect(stateOf(await manager.consumers.info(STREAM_NAME, durable()))).toEqual(before);
    });

    it('leaves it delivering the next event', async () => {
      const next = await transport('posts', 'after-attacks').publish(post(Date.now()));
      await waitFor(
        () => victims[victim].sink.applied.some((event) => event.seq === next.seq),
        `${victim} to receive the next post`,
      );
      expect(victims[victim].transport.isReady()).toBe(true);
    });
  });

  describe("the views' credential", () => {
    it.each([
      ['store an event', 'blog.PostCreated._', JSON.stringify({ id: 'forged', title: 'forged' })],
      [
        'create a consumer',
        `$JS.API.CONSUMER.CREATE.${STREAM_NAME}.views-0`,
        '{"stream_name":"BLOG","config":{"name":"views-0"}}',
      ],
      ['delete a consumer', `$JS.API.CONSUMER.DELETE.${STREAM_NAME}.query-0`, ''],
      ['pull from a consumer', `$JS.API.CONSUMER.MSG.NEXT.${STREAM_NAME}.query-0`, '{"batch":1}'],
      ['purge the stream', `$JS.API.STREAM.PURGE.${STREAM_NAME}`, ''],
      ['change the stream', `$JS.API.STREAM.UPDATE.${STREAM_NAME}`, '{}'],
    ])('cannot %s', async (_what, subject, body) => {
      const before = await head();
      const views = await as('views');

      await expect(views.request(subject, body, { timeout: 2000 })).rejects.toThrow(/Permissions Violation/);

      expect(await head()).toBe(before);
    });

    it('reads what the views show', async () => {
      const views = jetstreamManager(await as('views'), { checkAPI: false });
      expect((await (await views).streams.info(STREAM_NAME)).state.last_seq).toBe(await head());
    });
  });

  describe('keys', () => {
    it("refuses posts an event under comments' key, stores nothing, and comments' next comment is not blocked", async () => {
      const before = await head();

      await expect(transport('posts', 'keys').publish({ ...post(1), key: 'comments:p1' })).rejects.toThrow(
        /nats refused PostCreated from posts: Permissions Violation/,
      );
      await expect(
        transport('moderation', 'keys').publish({
          type: 'CommentModerated',
          key: 'comments:p1',
          data: { id: 'c1', postId: 'p1', content: 'x', status: 'approved' },
        }),
      ).rejects.toThrow(/Permissions Violation/);

      expect(await head()).toBe(before);
      const comment = await transport('comments', 'keys').publish(
        {
          type: 'CommentCreated',
          key: 'comments:p1',
          data: { id: 'c1', postId: 'p1', content: 'x', status: 'pending' },
        },
        { expectedLastSeq: 0 },
      );
      expect(comment.seq).toBe(before + 1);
    });

    it('puts no subject for a key on the types without keys', () => {
      expect(subjectOf('PostCreated')).toBe('blog.PostCreated._');
    });
  });

  describe('a rogue nats-server', () => {
    it.each([
      ['without the route credential', (port: number) => `nats-route://127.0.0.1:${port}`],
      ['with a wrong one', (port: number) => routeUrl('127.0.0.1', port, 'w'.repeat(43))],
    ])('that routes to a node %s is refused, logged, and sees and injects nothing', async (_how, route) => {
      const dir = mkdtempSync(path.join(tmpdir(), 'mini-blog-rogue-'));
      const file = path.join(dir, 'rogue.conf');
      writeFileSync(
        file,
        JSON.stringify({
          server_name: 'rogue',
          listen: '127.0.0.1:-1',
          cluster: { name: NATS_CLUSTER, listen: '127.0.0.1:-1', routes: [route(nats.ports[0]!.cluster)] },
        }),
      );
      const logged = nats.logs[0]!.length;
      const rogue = await spawnNatsServer(file);
      try {
        await waitFor(
          () => nats.logs[0]!.slice(logged).some((line) => /authentication error/.test(line)),
          'the node to log the refused route',
        );
        const routes = (await (await fetch(`http://127.0.0.1:${nats.ports[0]!.monitor}/routez`)).json()) as {
          routes: { remote_id: string }[];
        };
        expect(routes.routes).toHaveLength(2);

        const spy = await connect({ servers: rogue.clientUrl });
        connections.push(spy);
        const seen: string[] = [];
        const subscription = spy.subscribe('>', { callback: (_err, message) => void seen.push(message.subject) });
        await spy.flush();
        const before = await head();
        spy.publish(
          subjectOf('CommentModerated'),
          JSON.stringify({ id: 'c1', postId: 'p1', content: 'x', status: 'approved' }),
        );
        await spy.flush();
        const stored = await transport('posts', 'rogue').publish(post(Date.now()));
        await waitFor(
          () => victims.query.sink.applied.some((event) => event.seq === stored.seq),
          'query to receive the post',
        );

        expect(stored.seq).toBe(before + 1);
        expect(await head()).toBe(before + 1);
        expect(seen.filter((subject) => subject.startsWith('blog.'))).toEqual([subjectOf('CommentModerated')]);
        subscription.unsubscribe();
      } finally {
        await stopProcess(rogue.child);
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe('a consumer changed behind its service', () => {
    it('makes the replica unready (503) and says what changed', async () => {
      const lines: string[] = [];
      const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
      const query = transport('query', 'tampered', { logger, checkEveryMs: 200 });
      const sink = new RecordingSink('query');
      query.connect(sink);
      sink.caughtUpAt(await head());
      await waitFor(() => query.isReady(), 'the replica to be ready');
      const app = createHttpApp({ logger: silentLogger, isReady: () => query.isReady(), routes: () => undefined });
      await request(app).get('/readyz').expect(200);

      await (
        await admin()
      ).consumers.update(STREAM_NAME, query.liveStatus()!.durable!, {
        filter_subject: 'blog.PostCreated.*',
      });

      await waitFor(async () => (await request(app).get('/readyz')).status === 503, 'readiness to fail');
      const line = lines.find((candidate) => candidate.includes('changed by someone else'));
      expect(line).toContain(`"consumer":"${query.liveStatus()!.durable}"`);
      expect(line).toContain('filter_subject: none -> \\"blog.PostCreated.*\\"');
      expect(query.liveStatus()?.tampered).toEqual(['filter_subject: none -> "blog.PostCreated.*"']);
    });
  });
});
