import { freePort, ServiceProcess, waitForReady } from '@mini-blog/launcher';
import { startFaultSystem, type FaultSystem } from './faults/support/fault-system';
import { call } from './faults/support/http';

/**
 * The 500-comment limit of a post is exact when two replicas of comments take comments at once:
 * the system's own comments process, and a second one started beside it with the same settings,
 * on the event bus and on NATS JetStream. On the bus the second one gets no live deliveries, so it
 * counts from a stale view: only the conditional publish keeps it from adding comments past the
 * limit. On JetStream each replica has its own durable consumer (named by REPLICA_ID), as replicas
 * on different hosts have: two processes with one name would share one consumer, each applying only
 * part of the live deliveries, and the second would delete the first's consumer as it starts.
 */

jest.setTimeout(180_000);

const EXISTING = 490;
const CONCURRENT = 60;

async function comment(base: string, postId: string, content: string): Promise<number> {
  return (await call(base, 'POST', `/posts/${postId}/comments`, { content })).status;
}

describe.each([
  ['the event bus', { transport: 'http' }] as const,
  ['NATS JetStream', { transport: 'jetstream', natsNodes: 1 }] as const,
])('60 concurrent comments on a post with 490, through two replicas of comments, on %s', (_name, transport) => {
  let fault: FaultSystem;
  let second: ServiceProcess | undefined;

  beforeAll(async () => {
    fault = await startFaultSystem({ name: 'comment-cap', transport });
    const first = fault.system.services.comments;
    second = new ServiceProcess(
      { ...first.spec, name: 'comments-2', port: await freePort(), env: { ...first.spec.env, REPLICA_ID: 'second' } },
      () => undefined,
    );
    second.start();
    await waitForReady(second, 30_000);
  });

  afterAll(async () => {
    await second?.stop();
    await fault?.stop();
  });

  it('are accepted exactly 10 times, the others answered 409, and the log holds 500', async () => {
    const replicas = [fault.system.services.comments.url, second!.url];
    const created = await call(fault.gateway, 'POST', '/posts/create', { title: 'Nearly full' });
    expect(created.status).toBe(201);
    const postId = (created.json as { id: string }).id;
    for (let batch = 0; batch < EXISTING; batch += 10) {
      const statuses = await Promise.all(
        Array.from({ length: 10 }, (_, i) => comment(replicas[i % 2]!, postId, `earlier comment ${batch + i}`)),
      );
      expect(statuses.every((status) => status === 201)).toBe(true);
    }

    const statuses = await Promise.all(
      Array.from({ length: CONCURRENT }, (_, i) => comment(replicas[i % 2]!, postId, `racing comment ${i}`)),
    );

    expect(statuses.filter((status) => status === 201)).toHaveLength(10);
    expect(statuses.filter((status) => status === 409)).toHaveLength(CONCURRENT - 10);
    // The second replica reads the log up to its head before it refuses one more, so its list then is the log's.
    expect(await comment(second!.url, postId, 'one too many')).toBe(409);
    const listed = await call(second!.url, 'GET', `/posts/${postId}/comments`);
    expect(listed.json).toHaveLength(500);
  });
});
