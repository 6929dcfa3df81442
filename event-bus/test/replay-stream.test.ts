import { get, type IncomingMessage } from 'node:http';
import { waitFor } from '@mini-blog/common/testing';
import { listen, openTestBus, type TestBus } from './helpers';

const EVENTS = 30_000;
const CONTENT = 'x'.repeat(900);

describe('GET /events streamed', () => {
  let bus: TestBus;
  let server: Awaited<ReturnType<typeof listen>>;
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
    server = await listen(bus.app);
  });
  afterAll(async () => {
    await server.close();
    await bus.close();
  });

  const open = () => new Promise<IncomingMessage>((resolve, reject) => get(`${server.url}/events`, resolve).on('error', reject));

  it('reads the log only as fast as a slow client takes it, and sends all of it in order', async () => {
    reads = 0;
    const res = await open();
    res.pause();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const readsWhilePaused = reads;

    const chunks: Buffer[] = [];
    res.on('data', (chunk: Buffer) => chunks.push(chunk));
    res.resume();
    await new Promise((resolve) => res.on('end', resolve));

    // 30 MB in 30 reads of 1,000 events: a paused client holds the server back after the socket buffers fill.
    expect(readsWhilePaused).toBeLessThan(15);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { seq: number }[];
    expect(body).toHaveLength(EVENTS);
    expect(body.every((event, index) => event.seq === index + 1)).toBe(true);
  });

  it('stops reading when the client goes away', async () => {
    reads = 0;
    const res = await open();
    res.pause();
    await new Promise((resolve) => setTimeout(resolve, 100));
    res.destroy();
    await waitFor(() => reads > 0, 'the first read');
    await new Promise((resolve) => setTimeout(resolve, 200));
    const afterClose = reads;
    await new Promise((resolve) => setTimeout(resolve, 200));

    expect(reads).toBe(afterClose);
    expect(reads).toBeLessThan(EVENTS / 1000);
  });
});
