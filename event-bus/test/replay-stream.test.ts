import { once } from 'node:events';
import { createServer, get, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { waitFor } from '@mini-blog/common/testing';
import { openTestBus, secretOf, type TestBus } from './helpers';

const EVENTS = 30_000;
const CONTENT = 'x'.repeat(900);

describe('GET /events streamed', () => {
  let bus: TestBus;
  let server: Server;
  let url: string;
  /** The server side of the latest request: whether it waits for the client to read. */
  let answer: ServerResponse | undefined;
  let reads: number;

  beforeAll(async () => {
    bus = openTestBus();
    const events = Array.from({ length: EVENTS }, (_, n) => ({
      id: `c${n}`,
      type: 'CommentCreated' as const,
      dataJson: JSON.stringify({ id: `c${n}`, postId: 'p', content: CONTENT, status: 'pending' }),
    }));
    await bus.bus.committer.publish(events);
    const read = bus.bus.store.readEnvelopes.bind(bus.bus.store);
    reads = 0;
    bus.bus.store.readEnvelopes = (...args) => {
      reads += 1;
      return read(...args);
    };
    server = createServer((req, res) => {
      answer = res;
      bus.app(req, res);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await bus.close();
  });

  async function openPaused(): Promise<IncomingMessage> {
    reads = 0;
    answer = undefined;
    const res = await new Promise<IncomingMessage>((resolve, reject) =>
      get(url, { headers: { authorization: `Bearer ${secretOf('admin')}` } }, resolve).on('error', reject),
    );
    res.pause();
    await waitFor(() => answer?.writableNeedDrain, 'the server to wait for the paused client');
    return res;
  }

  it('reads the log only as fast as a slow client takes it, and sends all of it in order', async () => {
    const res = await openPaused();
    const readsWhilePaused = reads;

    const chunks: Buffer[] = [];
    res.on('data', (chunk: Buffer) => chunks.push(chunk));
    res.resume();
    await once(res, 'end');

    // 30 MB in 30 reads of 1,000 events: a paused client holds the server back once the socket buffers fill.
    expect(readsWhilePaused).toBeLessThan(15);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { seq: number }[];
    expect(body).toHaveLength(EVENTS);
    expect(body.every((event, index) => event.seq === index + 1)).toBe(true);
  });

  it('stops reading when the client goes away', async () => {
    const res = await openPaused();
    const readsBeforeClose = reads;
    const closed = once(answer!, 'close');

    res.destroy();
    await closed;
    // The reader resumes on the close; a loop that did not stop there would read on in these turns.
    await new Promise((resolve) => setImmediate(resolve));

    expect(reads).toBe(readsBeforeClose);
    expect(reads).toBeLessThan(EVENTS / 1000);
  });
});
