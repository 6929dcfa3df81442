import { get, type IncomingMessage } from 'node:http';
import { waitFor } from '@mini-blog/common/testing';
import request from 'supertest';
import { createViewsApp } from '../src/http/app';
import {
  FakeSubscriber,
  listen,
  openTestBus,
  postCreated,
  publishPostBatch,
  subscriber,
  type TestBus,
} from './helpers';
import { silentLogger } from '@mini-blog/common/service';

interface SseMessage {
  readonly event: string;
  readonly data: unknown;
}

/** Reads a server-sent-events response into `messages` until `close` is called. */
function readStream(url: string): Promise<{ messages: SseMessage[]; raw: () => string; close(): void }> {
  return new Promise((resolve, reject) => {
    const messages: SseMessage[] = [];
    let raw = '';
    let buffer = '';
    const req = get(url, (res: IncomingMessage) => {
      if (res.statusCode !== 200) reject(new Error(`stream answered ${res.statusCode}`));
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        raw += chunk;
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event && data) messages.push({ event, data: JSON.parse(data) });
        }
      });
      resolve({ messages, raw: () => raw, close: () => req.destroy() });
    });
    req.on('error', () => undefined);
  });
}

describe('observability', () => {
  let bus: TestBus;
  let fake: FakeSubscriber;

  beforeEach(async () => {
    fake = await new FakeSubscriber().start();
    bus = openTestBus([subscriber('a', fake.url)]);
  });
  afterEach(async () => {
    await bus.close();
    await fake.stop();
  });

  const publish = (count: number, from = 1) => publishPostBatch(bus, count, from);

  describe('GET /flow', () => {
    it('answers the metadata of the events after `after`, with their publisher, without data', async () => {
      await publish(5);

      const res = await request(bus.views).get('/flow?after=1&limit=2').expect(200);

      expect(res.body).toEqual({
        events: [
          { seq: 2, type: 'PostCreated', id: expect.any(String), time: expect.any(String), publisher: 'posts' },
          { seq: 3, type: 'PostCreated', id: expect.any(String), time: expect.any(String), publisher: 'posts' },
        ],
        head: 5,
      });
    });

    it('answers the newest events when `after` is left out', async () => {
      await publish(5);

      const res = await request(bus.views).get('/flow?limit=2').expect(200);

      expect(res.body.events.map((event: { seq: number }) => event.seq)).toEqual([4, 5]);
    });
  });

  describe("an event's trace context and payload", () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const pendingComment = {
      type: 'CommentCreated',
      id: 'CommentCreated:c1',
      data: { id: 'c1', postId: 'p1', content: 'a secret draft', status: 'pending' },
      traceparent,
    };

    it('stores the traceparent with the event and delivers it in the envelope', async () => {
      await bus.as('comments').post('/events').send(pendingComment).expect(201);

      const page = await bus.as('admin').get('/events?after=0&limit=10').expect(200);
      expect(page.body.events[0]).toMatchObject({ id: 'CommentCreated:c1', traceparent });
      await waitFor(() => fake.received.length === 1, 'the delivery');
      expect(fake.received[0]).toMatchObject({ id: 'CommentCreated:c1', traceparent });
    });

    it('refuses a traceparent that is not W3C, naming the field', async () => {
      const res = await bus
        .as('comments')
        .post('/events')
        .send({ ...pendingComment, traceparent: '00-xyz-01' })
        .expect(400);

      expect(res.body.message).toMatch(/^traceparent: must be a W3C traceparent/);
    });

    it("answers one event with its public payload, its publisher and its trace, never a pending comment's content", async () => {
      await bus.as('comments').post('/events').send(pendingComment).expect(201);

      const res = await request(bus.views).get('/flow/events/1').expect(200);

      expect(res.body).toEqual({
        seq: 1,
        type: 'CommentCreated',
        id: 'CommentCreated:c1',
        time: expect.any(String),
        publisher: 'comments',
        traceId: '0af7651916cd43dd8448eb211c80319c',
        data: { id: 'c1', postId: 'p1', content: '', status: 'pending' },
      });
      expect(JSON.stringify(res.body)).not.toContain('secret draft');
    });

    it('answers 404 for a seq past the log and 400 for one that is no number', async () => {
      expect((await request(bus.views).get('/flow/events/9').expect(404)).body.message).toBe(
        'seq: no event 9 in the log',
      );
      expect((await request(bus.views).get('/flow/events/x').expect(400)).body.message).toMatch(/^seq: /);
    });
  });

  describe('GET /flow/stream', () => {
    it('streams appended metadata and throttled cursor moves, never a payload', async () => {
      const server = await listen(createViewsApp({ bus: bus.bus, logger: silentLogger(), flowThrottleMs: 50 }));
      const stream = await readStream(`${server.url}/flow/stream`);
      try {
        await publish(3);

        await waitFor(
          () => stream.messages.filter((message) => message.event === 'appended').length === 3,
          '3 appended messages',
        );
        await waitFor(
          () =>
            stream.messages.some(
              (message) => message.event === 'delivered' && (message.data as { cursor: number }).cursor === 3,
            ),
          'a delivered message at cursor 3',
        );
        expect(
          stream.messages.filter((message) => message.event === 'appended').map((message) => message.data),
        ).toEqual(
          [1, 2, 3].map((seq) => ({
            seq,
            type: 'PostCreated',
            id: expect.any(String),
            time: expect.any(String),
            publisher: 'posts',
          })),
        );
        expect(stream.messages.filter((message) => message.event === 'delivered').length).toBeLessThanOrEqual(3);
        expect(stream.messages.find((message) => message.event === 'delivered')!.data).toEqual({
          subscriber: 'a',
          cursor: expect.any(Number),
        });
        expect(stream.raw()).not.toContain('Post 1');
      } finally {
        stream.close();
        await server.close();
      }
    });
  });

  describe('GET /metrics', () => {
    it('answers Prometheus text with log and per-subscriber metrics, never a payload', async () => {
      await publish(3);
      await bus.as('posts').post('/events').send(postCreated(1, 'dup')).expect(201);
      await bus.as('posts').post('/events').send(postCreated(1, 'dup')).expect(200);
      await waitFor(() => fake.received.length === 4, 'every delivery');

      const res = await request(bus.views)
        .get('/metrics')
        .expect(200)
        .expect('content-type', /text\/plain/);

      expect(res.text).toMatch(/^eventbus_events_appended_total 4$/m);
      expect(res.text).toMatch(/^eventbus_events_duplicate_total 1$/m);
      expect(res.text).toMatch(/^eventbus_head_seq 4$/m);
      expect(res.text).toMatch(/^eventbus_subscriber_cursor\{subscriber="a"\} 4$/m);
      expect(res.text).toMatch(/^eventbus_subscriber_lag\{subscriber="a"\} 0$/m);
      expect(res.text).toMatch(/^eventbus_events_delivered_total\{subscriber="a"\} 4$/m);
      expect(res.text).toMatch(/^eventbus_deliveries_total\{subscriber="a",outcome="ok"\} 4$/m);
      expect(res.text).toContain('eventbus_commit_seconds_bucket');
      expect(res.text).not.toContain('Post 1');
    });
  });
});
