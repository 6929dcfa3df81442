import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BusUnavailableError, ConflictError, IdempotencyConflictError, backoffDelay } from '../src/transport';
import { createBusClient } from '../src/transport/http';
import type { NewEvent } from '../src/events';

interface Received {
  readonly method: string;
  readonly url: URL;
  readonly headers: IncomingMessage['headers'];
  readonly body: unknown;
}

/** Answers the n-th request (0-based) after reading its body; the test decides how. */
type Answer = (res: ServerResponse, n: number, req: Received) => void;

/** A stand-in for the event bus: a real HTTP server on a free port that records every request. */
class FakeBus {
  readonly received: Received[] = [];
  private server: Server | undefined;
  url = '';

  async start(answer: Answer): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        const received = {
          method: req.method ?? '',
          url: new URL(req.url ?? '/', this.url),
          headers: req.headers,
          body: text ? JSON.parse(text) : undefined,
        };
        this.received.push(received);
        answer(res, this.received.length - 1, received);
      });
    });
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    const closed = once(this.server, 'close');
    this.server.close();
    this.server.closeAllConnections();
    await closed;
  }

  get ids(): unknown[] {
    return this.received.map((req) => (req.body as { id?: unknown }).id);
  }
}

const json = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
};
const stored = (res: ServerResponse, _n: number, req: Received) =>
  json(res, 201, { id: (req.body as { id: string }).id, seq: 7, duplicate: false });
/** Fails the first `failures` requests with `fail`, then answers with `succeed`. */
const failingFirst =
  (failures: number, fail: (res: ServerResponse) => void, succeed: Answer = stored): Answer =>
  (res, n, req) =>
    n < failures ? fail(res) : succeed(res, n, req);
/** Closes the connection without an answer: what a crashed bus looks like to the client. */
const dropConnection = (res: ServerResponse) => res.socket?.destroy();

const postCreated: NewEvent = { type: 'PostCreated', data: { id: 'p1', title: 'Hello' } };

let bus: FakeBus;

beforeEach(() => {
  bus = new FakeBus();
});

afterEach(async () => {
  await bus.stop();
  jest.restoreAllMocks();
});

/** Quick retries, so that the suite stays fast. */
const fastClient = (options: { retries?: number; timeoutMs?: number } = {}) =>
  createBusClient({ url: bus.url, backoffMs: 1, ...options });

describe('createBusClient', () => {
  describe('publish', () => {
    it('posts the event as JSON to /events and resolves with the bus answer', async () => {
      await bus.start(stored);

      const result = await fastClient().publish({ ...postCreated, id: 'PostCreated:p1' });

      expect(result).toEqual({ id: 'PostCreated:p1', seq: 7, duplicate: false });
      expect(bus.received).toHaveLength(1);
      expect(bus.received[0]).toMatchObject({ method: 'POST', body: { ...postCreated, id: 'PostCreated:p1' } });
      expect(bus.received[0]?.url.pathname).toBe('/events');
      expect(bus.received[0]?.headers['content-type']).toBe('application/json');
    });

    it('gives an event without an id a fresh one, so that the bus can deduplicate it', async () => {
      await bus.start(stored);

      await fastClient().publish(postCreated);
      await fastClient().publish(postCreated);

      const [first, second] = bus.ids;
      expect(first).toEqual(expect.any(String));
      expect(second).toEqual(expect.any(String));
      expect(first).not.toBe(second);
    });

    it('works with a bus URL that ends with a slash', async () => {
      await bus.start(stored);

      await createBusClient({ url: `${bus.url}/` }).publish(postCreated);

      expect(bus.received[0]?.url.pathname).toBe('/events');
    });

    it('sends requests one after another over one kept-alive connection', async () => {
      const ports = new Set<number>();
      await bus.start((res, n, req) => {
        ports.add(res.socket!.remotePort!);
        stored(res, n, req);
      });
      const client = fastClient();

      for (let i = 0; i < 3; i += 1) await client.publish(postCreated);

      expect(bus.received).toHaveLength(3);
      expect(ports.size).toBe(1);
    });

    it('retries a 5xx answer with the same id each try', async () => {
      await bus.start(failingFirst(2, (res) => json(res, 503, { message: 'busy' })));

      const result = await fastClient({ retries: 3 }).publish(postCreated);

      expect(bus.received).toHaveLength(3);
      expect(new Set(bus.ids).size).toBe(1);
      expect(result.id).toBe(bus.ids[0]);
    });

    it('retries a network error with the same id each try', async () => {
      await bus.start(failingFirst(2, dropConnection));

      const result = await fastClient({ retries: 3 }).publish(postCreated);

      expect(bus.received).toHaveLength(3);
      expect(new Set(bus.ids).size).toBe(1);
      expect(result.id).toBe(bus.ids[0]);
    });

    it.each([408, 429])('retries a %i answer', async (status) => {
      await bus.start(failingFirst(1, (res) => json(res, status, { message: 'later' })));

      await fastClient({ retries: 1 }).publish(postCreated);

      expect(bus.received).toHaveLength(2);
    });

    it('gives up after the retries with a BusUnavailableError', async () => {
      await bus.start((res) => json(res, 500, { message: 'disk full' }));

      const publishing = fastClient({ retries: 2 }).publish(postCreated);

      await expect(publishing).rejects.toBeInstanceOf(BusUnavailableError);
      await expect(publishing).rejects.toMatchObject({
        name: 'BusUnavailableError',
        message: expect.stringContaining('answered 500'),
      });
      expect(bus.received).toHaveLength(3);
      expect(new Set(bus.ids).size).toBe(1);
    });

    it('gives up with a BusUnavailableError when nothing listens, saying that nothing was stored', async () => {
      await bus.start(stored);
      const { url } = bus;
      await bus.stop();

      const publishing = createBusClient({ url, retries: 1, backoffMs: 1 }).publish(postCreated);

      await expect(publishing).rejects.toBeInstanceOf(BusUnavailableError);
      await expect(publishing).rejects.toMatchObject({
        mayBeStored: false,
        message: expect.stringMatching(/\(ECONNREFUSED\); nothing was stored, try again$/),
      });
    });

    it('says that nothing was stored when the bus answered every try with a 5xx', async () => {
      await bus.start((res) => json(res, 503, { message: 'event-bus: the log could not be written' }));

      const publishing = fastClient({ retries: 1 }).publish(postCreated);

      await expect(publishing).rejects.toMatchObject({
        mayBeStored: false,
        message: expect.stringContaining('nothing was stored'),
      });
    });

    it('does not promise that nothing was stored when a publish went out and its answer was lost', async () => {
      // The bus may have committed the event and crashed before answering; then it is gone for good.
      const { url } = await bus.start(dropConnection);
      const client = fastClient({ retries: 1 });
      const lost = client.publish(postCreated);
      await expect(lost).rejects.toMatchObject({
        name: 'BusUnavailableError',
        mayBeStored: true,
        message: expect.stringContaining('it may have been stored'),
      });
      await expect(lost).rejects.not.toThrow(/nothing was stored/);
      await bus.stop();

      const laterRefused = createBusClient({ url, retries: 0 }).publish(postCreated);
      await expect(laterRefused).rejects.toMatchObject({ mayBeStored: false });
    });

    it('keeps the doubt when a try after a lost answer is refused', async () => {
      await bus.start(failingFirst(1, dropConnection, (res) => json(res, 503, {})));

      const publishing = fastClient({ retries: 1 }).publish(postCreated);

      await expect(publishing).rejects.toMatchObject({ mayBeStored: true });
    });

    it('does not doubt a read that got no answer: reading stores nothing', async () => {
      await bus.start(dropConnection);

      const reading = fastClient({ retries: 0 }).readLog({ after: 0 });

      await expect(reading).rejects.toMatchObject({ mayBeStored: false });
    });

    it('throws a BusUnavailableError, a transport error without an HTTP status of its own, for a 502', async () => {
      await bus.start((res) => json(res, 502, {}));

      const error = await fastClient({ retries: 0 })
        .publish(postCreated)
        .catch((err: unknown) => err);

      expect(error).toBeInstanceOf(BusUnavailableError);
      expect(error).not.toHaveProperty('status');
    });

    it('does not retry a 4xx answer, and says what the bus refused', async () => {
      await bus.start((res) => json(res, 400, { message: 'data.title: is required' }));

      const publishing = fastClient({ retries: 3 }).publish(postCreated);

      await expect(publishing).rejects.toThrow(/refused POST \/events with 400: .*data\.title: is required/);
      await expect(publishing).rejects.not.toBeInstanceOf(BusUnavailableError);
      expect(bus.received).toHaveLength(1);
    });

    it('gives up on a request the bus does not answer within the timeout', async () => {
      await bus.start(() => undefined);
      const started = Date.now();

      const publishing = fastClient({ retries: 0, timeoutMs: 50 }).publish(postCreated);

      await expect(publishing).rejects.toBeInstanceOf(BusUnavailableError);
      // Under jest the abort error comes from another realm, so it is not `instanceof Error` and the
      // client quotes its name instead of writing "no answer within 50 ms" as it does in production.
      await expect(publishing).rejects.toThrow(/no answer within 50 ms|TimeoutError/);
      expect(Date.now() - started).toBeLessThan(1000);
    });

    it('retries a timed-out request with the same id', async () => {
      await bus.start(failingFirst(1, () => undefined));

      const result = await fastClient({ retries: 1, timeoutMs: 50 }).publish(postCreated);

      expect(bus.received).toHaveLength(2);
      expect(new Set(bus.ids).size).toBe(1);
      expect(result.id).toBe(bus.ids[0]);
    });
  });

  describe('authorization', () => {
    it('sends its token as a bearer token on every request', async () => {
      await bus.start((res, n, req) =>
        req.method === 'GET' ? json(res, 200, { events: [], next: 0, head: 0 }) : stored(res, n, req),
      );
      const client = createBusClient({ url: bus.url, token: 'the-posts-secret-0123456789abcdefghijklmn' });

      await client.publish(postCreated);
      await client.publishBatch([postCreated]);
      await client.readLog({ after: 0 });

      expect(bus.received.map((req) => req.headers.authorization)).toEqual(
        Array(3).fill('Bearer the-posts-secret-0123456789abcdefghijklmn'),
      );
    });

    it('sends no authorization header without a token', async () => {
      await bus.start(stored);

      await fastClient().publish(postCreated);

      expect(bus.received[0]!.headers.authorization).toBeUndefined();
    });

    it('does not retry a 401, and says what the bus refused', async () => {
      await bus.start((res) => json(res, 401, { message: 'authorization: unknown token' }));

      await expect(fastClient().publish(postCreated)).rejects.toThrow(
        'event-bus refused POST /events with 401: {"message":"authorization: unknown token"}',
      );
      expect(bus.received).toHaveLength(1);
    });
  });

  describe('conditional publish', () => {
    const keyed: NewEvent = {
      type: 'CommentCreated',
      id: 'CommentCreated:c1',
      key: 'comments:p1',
      data: { id: 'c1', postId: 'p1', content: 'Hi', status: 'pending' },
    };

    it('sends the key with the event and expectedLastSeq beside it', async () => {
      await bus.start(stored);

      await fastClient().publish(keyed, { expectedLastSeq: 4 });

      expect(bus.received[0]!.body).toEqual({ ...keyed, expectedLastSeq: 4 });
    });

    it('throws a ConflictError with the seq the key is at when the bus answers 409 with lastSeq, without retrying', async () => {
      await bus.start((res) =>
        json(res, 409, { message: 'expectedLastSeq: the last event of comments:p1 is at 9', lastSeq: 9 }),
      );

      const error = await fastClient()
        .publish(keyed, { expectedLastSeq: 4 })
        .catch((err: unknown) => err);

      expect(error).toBeInstanceOf(ConflictError);
      expect(error).toMatchObject({
        key: 'comments:p1',
        lastSeq: 9,
        message: 'expectedLastSeq: the last event of comments:p1 is at 9',
      });
      expect(bus.received).toHaveLength(1);
    });

    it('refuses expectedLastSeq on an event without a key, sending nothing', async () => {
      await bus.start(stored);

      await expect(fastClient().publish(postCreated, { expectedLastSeq: 0 })).rejects.toThrow(
        'publish: expectedLastSeq needs the event to have a key',
      );
      expect(bus.received).toHaveLength(0);
    });

    it('throws an IdempotencyConflictError (422) when the id is stored with other data', async () => {
      await bus.start((res) => json(res, 409, { message: 'id: PostCreated:p1 is stored with other data' }));

      const error = await fastClient()
        .publish({ ...postCreated, id: 'PostCreated:p1' })
        .catch((err: unknown) => err);

      expect(error).toBeInstanceOf(IdempotencyConflictError);
      expect(error).toMatchObject({ name: 'IdempotencyConflictError', id: 'PostCreated:p1' });
    });
  });

  describe('publishBatch', () => {
    it('posts the events as one array, each with an id, and returns the results in order', async () => {
      await bus.start((res, _n, req) => {
        const events = req.body as { id: string }[];
        json(res, 201, { results: events.map(({ id }, index) => ({ id, seq: index + 1, duplicate: false })) });
      });

      const results = await fastClient().publishBatch([{ ...postCreated, id: 'PostCreated:p1' }, postCreated]);

      const sent = bus.received[0]?.body as { id: string }[];
      expect(sent).toHaveLength(2);
      expect(sent[0]?.id).toBe('PostCreated:p1');
      expect(sent[1]?.id).toEqual(expect.any(String));
      expect(results.map(({ id, seq }) => ({ id, seq }))).toEqual([
        { id: 'PostCreated:p1', seq: 1 },
        { id: sent[1]?.id, seq: 2 },
      ]);
    });

    it('retries a batch with the same ids each try', async () => {
      await bus.start(failingFirst(1, dropConnection, (res) => json(res, 201, { results: [] })));

      await fastClient({ retries: 1 }).publishBatch([postCreated, postCreated]);

      const [first, second] = bus.received.map((req) => (req.body as { id: string }[]).map(({ id }) => id));
      expect(second).toEqual(first);
    });
  });

  describe('readLog', () => {
    const page = { events: [], next: 12, head: 40 };

    it('passes after, limit and types to GET /events and returns the page', async () => {
      await bus.start((res) => json(res, 200, page));

      const result = await fastClient().readLog({ after: 5, limit: 10, types: ['PostCreated', 'CommentCreated'] });

      expect(result).toEqual(page);
      const { method, url } = bus.received[0]!;
      expect(method).toBe('GET');
      expect(url.pathname).toBe('/events');
      expect(Object.fromEntries(url.searchParams)).toEqual({
        after: '5',
        limit: '10',
        types: 'PostCreated,CommentCreated',
      });
    });

    it('asks for 1000 events of every type by default', async () => {
      await bus.start((res) => json(res, 200, page));

      await fastClient().readLog({ after: 0 });

      expect(Object.fromEntries(bus.received[0]!.url.searchParams)).toEqual({ after: '0', limit: '1000' });
    });

    it('retries a failed read', async () => {
      await bus.start(failingFirst(1, dropConnection, (res) => json(res, 200, page)));

      const result = await fastClient({ retries: 1 }).readLog({ after: 0 });

      expect(result).toEqual(page);
      expect(bus.received).toHaveLength(2);
    });
  });
});

describe('backoffDelay', () => {
  it('waits at most base × 2^attempt, with jitter down to 0', () => {
    jest.spyOn(Math, 'random').mockReturnValueOnce(0).mockReturnValueOnce(0.999999);

    expect(backoffDelay(3, 100)).toBe(0);
    expect(backoffDelay(3, 100)).toBeCloseTo(800, 0);
  });

  it('never waits longer than the cap', () => {
    jest.spyOn(Math, 'random').mockReturnValue(0.999999);

    expect(backoffDelay(30, 100, 5000)).toBeLessThanOrEqual(5000);
  });
});
