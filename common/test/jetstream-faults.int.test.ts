import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { NewEvent, ServiceFaults } from '../src/events';
import { startTestNatsServer, type TestNatsServer } from '../src/testing/nats-server';
import { waitFor } from '../src/testing/wait-for';
import { askSwitches, faultSubject, STREAM_NAME } from '../src/transport/jetstream';
import { transportMaker } from './support/jetstream';
import { RecordingSink } from './support/recording-sink';

/**
 * The fault switches of a JetStream service (FAULT_SWITCHES=on), which its own transport applies:
 * the operator sets them with a request on the service's fault subject, as admin; nobody else may.
 */

const post = (n: number): NewEvent => ({
  type: 'PostCreated',
  id: `faults-post-${n}-${Date.now()}`,
  data: { id: `fp${n}`, title: `title ${n}` },
});

describe('the fault switches of a JetStream service', () => {
  let nats: TestNatsServer;
  let admin: NatsConnection;
  const { transport, closeAll } = transportMaker(() => nats);

  beforeAll(async () => {
    nats = await startTestNatsServer();
    admin = await connect({ servers: nats.url, user: 'admin', pass: nats.passwords.admin });
  });
  afterEach(closeAll);
  afterAll(async () => {
    await admin?.close();
    await nats?.stop();
  });

  const ask = async (service: string, body: unknown = '', as: NatsConnection = admin) =>
    JSON.parse(
      (await askSwitches(as, service, typeof body === 'string' ? body : JSON.stringify(body), 3000)).string(),
    ) as ServiceFaults & { error?: string };

  /** query's transport with its switches, its live consumer feeding a recording sink, caught up now. */
  async function query(faultSwitches = true) {
    const created = transport('query', 'r1', { faultSwitches });
    const sink = new RecordingSink('query');
    created.connect(sink);
    sink.caughtUpAt((await created.readLog({ after: 0, limit: 1 })).head);
    await waitFor(() => created.isReady(), 'the consumer to be caught up');
    return { transport: created, sink };
  }

  const pending = async () => {
    const manager = await jetstreamManager(admin);
    const infos = [];
    for await (const info of manager.consumers.list(STREAM_NAME)) if (info.name.startsWith('query-')) infos.push(info);
    return infos.reduce((sum, info) => sum + info.num_pending, 0);
  };

  it('answers with its switches, all off at first', async () => {
    await query();

    await waitFor(async () => (await ask('query').catch(() => undefined))?.log !== undefined, 'the service to listen');
    expect(await ask('query')).toEqual({
      deliveries: { paused: false, latencyMs: 0, failing: false },
      log: { slowMs: 0 },
    });
  });

  it('does not listen without FAULT_SWITCHES: nobody answers', async () => {
    await query(false);

    await expect(ask('query')).rejects.toThrow(/no responders|timeout/i);
  });

  it('lets only admin set them: another service may not publish on the subject', async () => {
    await query();
    await waitFor(async () => (await ask('query').catch(() => undefined))?.log !== undefined, 'the service to listen');
    const posts = await connect({ servers: nats.url, user: 'posts', pass: nats.passwords.posts });
    try {
      await expect(ask('query', { deliveries: { paused: true, latencyMs: 0, failing: false } }, posts)).rejects.toThrow(
        /permissions violation|timeout|no responders/i,
      );
    } finally {
      await posts.close();
    }
    expect((await ask('query')).deliveries.paused).toBe(false);
  });

  it('answers only on its own fault answer subject, never on a reply subject the requester names', async () => {
    await query();
    await waitFor(async () => (await ask('query').catch(() => undefined))?.log !== undefined, 'the service to listen');

    await expect(admin.request(faultSubject('query'), '', { timeout: 1000 })).rejects.toThrow(/timeout/i);
    expect((await ask('query')).log).toEqual({ slowMs: 0 });
  });

  it('refuses a malformed request, naming the field, and changes nothing', async () => {
    await query();
    await waitFor(async () => (await ask('query').catch(() => undefined))?.log !== undefined, 'the service to listen');

    expect((await ask('query', { deliveries: { paused: 'yes' } })).error).toMatch(/deliveries\.paused/);
    expect((await ask('query', 'not json')).error).toBe('switches: must be JSON');
    expect((await ask('query')).deliveries.paused).toBe(false);
  });

  it('pause: no message is applied and the consumer holds them; undone, every one is applied in order', async () => {
    const { sink } = await query();
    const posts = transport('posts');
    await waitFor(async () => (await ask('query').catch(() => undefined))?.log !== undefined, 'the service to listen');

    await ask('query', { deliveries: { paused: true, latencyMs: 0, failing: false } });
    const seqs = [];
    for (let n = 1; n <= 3; n += 1) seqs.push((await posts.publish(post(n))).seq);

    await waitFor(async () => (await pending()) >= 3, 'the consumer to hold the three');
    expect(sink.applied).toEqual([]);

    await ask('query', { deliveries: { paused: false, latencyMs: 0, failing: false } });
    await waitFor(() => sink.applied.length >= 3, 'the held messages');
    expect(sink.applied.map((event) => event.seq)).toEqual(seqs);
  });

  it('latency: each message waits that long before it is applied', async () => {
    const { sink } = await query();
    const posts = transport('posts');
    await waitFor(async () => (await ask('query').catch(() => undefined))?.log !== undefined, 'the service to listen');
    await ask('query', { deliveries: { paused: false, latencyMs: 400, failing: false } });

    const sentAt = Date.now();
    await posts.publish(post(4));
    await waitFor(() => sink.applied.length === 1, 'the delayed message');

    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(400);
  });

  it('fail: each message is parked at once; undone, the service reads the log up to its head', async () => {
    const { transport: created, sink } = await query();
    const posts = transport('posts');
    await waitFor(async () => (await ask('query').catch(() => undefined))?.log !== undefined, 'the service to listen');
    await ask('query', { deliveries: { paused: false, latencyMs: 0, failing: true } });

    await posts.publish(post(5));
    await posts.publish(post(6));

    await waitFor(() => created.liveStatus()?.parked === 2, 'both to park');
    expect(created.liveStatus()?.lastError).toBe('refused (fault switch)');
    expect(sink.applied).toEqual([]);

    await ask('query', { deliveries: { paused: false, latencyMs: 0, failing: false } });
    await waitFor(() => sink.syncs === 1, 'the read of the log once undone');
  });

  it('slow log: each publish of the service waits that long first', async () => {
    const posts = transport('posts', 'r1', { faultSwitches: true });
    await posts.publish(post(7));
    await waitFor(async () => (await ask('posts').catch(() => undefined))?.log !== undefined, 'posts to listen');

    await ask('posts', { log: { slowMs: 400 } });
    let started = Date.now();
    await posts.publish(post(8));
    const slow = Date.now() - started;
    await ask('posts', { log: { slowMs: 0 } });
    started = Date.now();
    await posts.publish(post(9));

    expect(slow).toBeGreaterThanOrEqual(400);
    expect(Date.now() - started).toBeLessThan(slow);
  });
});
