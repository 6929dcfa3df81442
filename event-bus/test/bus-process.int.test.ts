import { once } from 'node:events';
import { connect } from 'node:net';
import { verifyDelivery } from '@mini-blog/common/auth';
import type { Envelope, NewEvent } from '@mini-blog/common/events';
import { waitFor } from '@mini-blog/common/testing';
import { BusProcess } from './bus-process';
import { FakeSubscriber, postCreated, secretOf, tempDir } from './helpers';

interface Acked {
  readonly id: string;
  readonly seq: number;
}

async function publish(bus: BusProcess, body: unknown): Promise<Response> {
  return fetch(`${bus.url}/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...BusProcess.authorization('posts') },
    body: JSON.stringify(body),
  });
}

async function readLog(bus: BusProcess): Promise<Envelope[]> {
  const res = await fetch(`${bus.url}/events`, { headers: BusProcess.authorization('admin') });
  if (!res.ok) throw new Error(`GET /events answered ${res.status}`);
  return (await res.json()) as Envelope[];
}

jest.setTimeout(60_000);

/** A ceiling per client, so that a failed wait cannot leave the clients publishing forever. */
const MAX_PUBLISHES_PER_CLIENT = 2000;

describe('the bus as a process', () => {
  const dirs: ReturnType<typeof tempDir>[] = [];
  const processes: BusProcess[] = [];
  const fakes: FakeSubscriber[] = [];

  async function startBus(dataDir: string, env: Record<string, string> = {}): Promise<BusProcess> {
    const bus = await BusProcess.start({ DATA_DIR: dataDir, ...env });
    processes.push(bus);
    return bus;
  }

  function dataDir(): string {
    const dir = tempDir();
    dirs.push(dir);
    return dir.path;
  }

  afterAll(async () => {
    await Promise.all(processes.map((bus) => bus.stop('SIGKILL')));
    await Promise.all(fakes.map((fake) => fake.stop()));
    for (const dir of dirs) dir.remove();
  });

  it('keeps every acknowledged event across a graceful restart, and stores a re-sent id once', async () => {
    const dir = dataDir();
    const first = await startBus(dir);
    const acked: Acked[] = [];
    for (let n = 1; n <= 5; n += 1)
      acked.push((await (await publish(first, postCreated(n, `event-${n}`))).json()) as Acked);
    await first.stop('SIGTERM');

    const second = await startBus(dir);
    const again = await publish(second, postCreated(3, 'event-3'));

    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ id: 'event-3', seq: 3, duplicate: true });
    const log = await readLog(second);
    expect(log.map(({ id, seq }) => ({ id, seq }))).toEqual(acked.map(({ id, seq }) => ({ id, seq })));
  });

  it('serves the API and the read-only views on two ports, and signs its deliveries with the subscriber credential', async () => {
    const fake = await new FakeSubscriber().start();
    fakes.push(fake);
    const bus = await startBus(dataDir(), { SUBSCRIBERS: `query=${fake.url}` });

    expect((await publish(bus, postCreated(1))).status).toBe(201);
    await waitFor(() => fake.received.length === 1, 'the delivery');

    expect(
      (
        await fetch(`${bus.url}/events`, {
          method: 'POST',
          body: '{}',
          headers: { 'content-type': 'application/json' },
        })
      ).status,
    ).toBe(401);
    expect((await fetch(`${bus.url}/subscriptions`, { headers: BusProcess.authorization('admin') })).status).toBe(404);
    const views = (await (await fetch(`${bus.viewsUrl}/subscriptions`)).json()) as { name: string; cursor: number }[];
    expect(views).toEqual([expect.objectContaining({ name: 'query', cursor: 1 })]);
    expect(
      (
        await fetch(`${bus.viewsUrl}/events`, {
          method: 'POST',
          body: '{}',
          headers: { 'content-type': 'application/json' },
        })
      ).status,
    ).toBe(405);
    const verification = verifyDelivery([secretOf('query')], {
      id: fake.deliveries[0]!.headers['x-bus-delivery-id'] as string,
      timestamp: fake.deliveries[0]!.headers['x-bus-timestamp'] as string,
      signature: fake.deliveries[0]!.headers['x-bus-signature'] as string,
      cursor: fake.deliveries[0]!.headers['x-bus-cursor'] as string,
      body: fake.deliveries[0]!.raw,
    });
    expect(verification).toEqual({ ok: true });
  });

  it('closes a connection to the views listener that never finishes its headers, as the API listener does', async () => {
    const bus = await startBus(dataDir());
    const socket = connect(Number(new URL(bus.viewsUrl).port), '127.0.0.1');
    let answer = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => (answer += chunk));
    await once(socket, 'connect');

    socket.write('GET /subscriptions HTTP/1.1\r\nhost: 127.0.0.1\r\n');
    await once(socket, 'close');

    // runService's headers timeout (10 s): without it, Node would hold the connection for 300 s.
    expect(answer).toMatch(/^(HTTP\/1\.1 408|$)/);
  });

  it.each([
    ['without CREDENTIALS_DIR', () => ({ CREDENTIALS_DIR: '' }), 'CREDENTIALS_DIR'],
    [
      'when a subscriber has no credential',
      () => ({ SUBSCRIBERS: 'billing=http://127.0.0.1:9/events', CREDENTIALS_DIR: emptyCredentials() }),
      'does not exist',
    ],
  ])('refuses to start %s, saying what is missing', async (_case, env, message) => {
    await expect(startBus(dataDir(), env())).rejects.toThrow(message);
  });

  function emptyCredentials(): string {
    const dir = tempDir();
    dirs.push(dir);
    return dir.path;
  }

  it('delivers, in order, everything a subscriber missed while it was down, across a bus restart', async () => {
    const fake = await new FakeSubscriber().start();
    fakes.push(fake);
    await fake.stop();
    const env = { SUBSCRIBERS: `down=${fake.url}`, RETRY_BASE_MS: '20', RETRY_MAX_MS: '200' };
    const dir = dataDir();
    const first = await startBus(dir, env);
    for (let n = 1; n <= 5; n += 1) expect((await publish(first, postCreated(n))).status).toBe(201);
    await first.stop('SIGTERM');

    const second = await startBus(dir, env);
    for (let n = 6; n <= 10; n += 1) expect((await publish(second, postCreated(n))).status).toBe(201);
    await fake.start();

    await waitFor(() => fake.received.length >= 10, 'the subscriber to receive the 10 events once it is back');
    expect(fake.received.map((event) => event.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('loses no acknowledged event when killed with SIGKILL while 20 clients publish', async () => {
    const dir = dataDir();
    const bus = await startBus(dir);
    const acked: Acked[] = [];
    const sent: NewEvent[] = [];
    let killed = false;
    const client = async (c: number) => {
      for (let n = 0; !killed && n < MAX_PUBLISHES_PER_CLIENT; n += 1) {
        const event = postCreated(n, `client-${c}-${n}`);
        sent.push(event);
        try {
          const res = await publish(bus, event);
          if (res.status !== 201) throw new Error(`publish answered ${res.status}: ${await res.text()}`);
          acked.push((await res.json()) as Acked);
        } catch (err) {
          if (!killed) throw err;
          return;
        }
      }
    };
    const clients = Array.from({ length: 20 }, (_, c) => client(c));
    await waitFor(() => acked.length >= 500, '500 acknowledged publishes before the kill', { timeoutMs: 20_000 });

    killed = true;
    await bus.stop('SIGKILL');
    await Promise.all(clients);

    const restarted = await startBus(dir);
    const log = await readLog(restarted);
    expect(log.map((event) => event.seq)).toEqual(log.map((_, index) => index + 1));
    expect(new Set(log.map((event) => event.id)).size).toBe(log.length);
    const stored = new Map(log.map((event) => [event.id, event.seq]));
    const lost = acked.filter(({ id, seq }) => stored.get(id) !== seq);
    expect(lost).toEqual([]);

    // Clients retrying whatever they sent, answered or not, add nothing that is already there.
    const retried = (await (await publish(restarted, sent.slice(0, 1000))).json()) as {
      results: { id: string; seq: number; duplicate: boolean }[];
    };
    expect(
      retried.results
        .filter((result) => stored.has(result.id))
        .every((result) => result.duplicate && result.seq === stored.get(result.id)),
    ).toBe(true);
    expect((await readLog(restarted)).length).toBe(
      new Set([...stored.keys(), ...sent.slice(0, 1000).map((event) => event.id)]).size,
    );
  });
});
