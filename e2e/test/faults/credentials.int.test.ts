import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { signedDeliveryHeaders, waitFor } from '@mini-blog/common/testing';
import type { ServiceName } from '@mini-blog/launcher';
import { startFaultSystem, type FaultSystem } from './support/fault-system';
import { call, getJson } from './support/http';
import { readLog } from './support/verify';

/**
 * Credentials across real processes. Rotating one end to end, the way docs/kubernetes.md says to:
 * write the new secret first and keep the old one on the next line, restart the bus, then the
 * service; later drop the old line and restart both. At every step a new post goes from posts (a
 * publisher's bearer token) through the bus to query (signed deliveries, and its own token to read
 * the log), and afterwards the old secrets open nothing. And a delivery signed with a subscriber's
 * own key (a stolen key, or a bus gone wrong) still cannot freeze it with a position past the log.
 */

jest.setTimeout(120_000);

let fault: FaultSystem;

beforeAll(async () => {
  fault = await startFaultSystem({ name: 'credentials' });
});

afterAll(async () => {
  await fault?.stop();
});

const newSecret = () => randomBytes(32).toString('base64url');
const fileOf = (principal: string) => path.join(fault.system.credentialsDir, principal);
const secretsOf = (principal: string) => readFileSync(fileOf(principal), 'utf8').split('\n').filter(Boolean);
const writeSecrets = (principal: string, secrets: string[]) =>
  writeFileSync(fileOf(principal), `${secrets.join('\n')}\n`, { mode: 0o600 });

/** Where the bus's subscription of a subscriber stands: what the subscriber has applied. */
async function subscriberCursor(name: ServiceName): Promise<number> {
  const list = await getJson<{ name: string; cursor: number }[]>(fault.busViews, '/subscriptions');
  return list.find((subscription) => subscription.name === name)!.cursor;
}

async function restart(...names: ServiceName[]): Promise<void> {
  for (const name of names) {
    const service = fault.system.services[name];
    await service.stop();
    service.start();
    await fault.system.waitReady(name, 30_000);
  }
}

/** A delivery to a subscriber, signed with `secrets` as the bus signs; `sendCursor` replaces the signed cursor on the way. */
function deliver(subscriber: ServiceName, secrets: string[], envelope: object, cursor?: number, sendCursor?: number) {
  const body = JSON.stringify(envelope);
  const id = `test-${randomBytes(4).toString('hex')}`;
  const signedCursor = cursor === undefined ? undefined : String(cursor);
  const sentCursor = sendCursor === undefined ? signedCursor : String(sendCursor);
  return call(fault.system.services[subscriber].url, 'POST', '/events', undefined, {
    raw: body,
    headers: {
      'content-type': 'application/json',
      ...signedDeliveryHeaders(secrets, { id, body, cursor: signedCursor, sentCursor }),
    },
  });
}

/** A post created through the gateway, and the moment query shows it. */
async function postReachesQuery(title: string): Promise<void> {
  const created = await call(fault.gateway, 'POST', '/posts/create', { title });
  expect({ status: created.status, text: created.text }).toMatchObject({ status: 201 });
  const { id } = created.json as { id: string };
  await waitFor(
    async () =>
      (await getJson<{ posts: { id: string }[] }>(fault.gateway, '/posts/feed?limit=100')).posts.some(
        (post) => post.id === id,
      ),
    `post "${title}" to reach query`,
    { timeoutMs: 20_000 },
  );
}

describe('rotating the credentials of a publisher (posts) and a subscriber (query)', () => {
  it('keeps events flowing at every step, and the old secrets open nothing afterwards', async () => {
    const [oldPosts] = secretsOf('posts');
    const [oldQuery] = secretsOf('query');
    const [nextPosts, nextQuery] = [newSecret(), newSecret()];
    await postReachesQuery('before the rotation');

    // 1. The new secret first, the old one still accepted; the bus learns both.
    writeSecrets('posts', [nextPosts, oldPosts!]);
    writeSecrets('query', [nextQuery, oldQuery!]);
    await restart('event-bus');
    await postReachesQuery('the bus knows both, the services still use the old ones');

    // 2. The services take the new secret.
    await restart('posts', 'query');
    await postReachesQuery('the services use the new ones');

    // 3. The old secrets are dropped everywhere.
    writeSecrets('posts', [nextPosts]);
    writeSecrets('query', [nextQuery]);
    await restart('event-bus', 'posts', 'query');
    await postReachesQuery('only the new ones are left');

    const publishedWithOld = await call(
      fault.bus,
      'POST',
      '/events',
      { type: 'PostCreated', data: { id: 'forged', title: 'old token' } },
      { headers: { authorization: `Bearer ${oldPosts!}` } },
    );
    const deliveredWithOld = await deliver('query', [oldQuery!], {
      id: 'PostCreated:forged',
      seq: 1,
      type: 'PostCreated',
      data: { id: 'forged', title: 'old key' },
      time: new Date().toISOString(),
    });
    expect(publishedWithOld.status).toBe(401);
    expect(deliveredWithOld.status).toBe(401);
    expect(deliveredWithOld.json).toEqual({ message: 'x-bus-signature: does not match the body and x-bus-cursor' });
  });
});

describe('a delivery whose cursor was changed on the way', () => {
  it.each(['query', 'moderation'] as const)(
    'is refused by %s with 401, and nothing of it is applied',
    async (subscriber) => {
      const position = await subscriberCursor(subscriber);
      const post = await call(fault.gateway, 'POST', '/posts/create', { title: `cursor of ${subscriber}` });
      const { id } = post.json as { id: string };
      // A comment the subscriber has not been sent: the raised cursor would have it skip the events before it.
      const forged = {
        seq: position + 1,
        id: `CommentCreated:cursor-${subscriber}`,
        type: 'CommentCreated',
        data: { id: `cursor-${subscriber}`, postId: id, content: 'orange', status: 'pending' },
        time: new Date().toISOString(),
      };

      const raised = await deliver(subscriber, secretsOf(subscriber), forged, position, position + 1);
      const lowered = await deliver(subscriber, secretsOf(subscriber), forged, position, 0);

      expect([raised.status, lowered.status]).toEqual([401, 401]);
      expect(raised.json).toEqual({ message: 'x-bus-signature: does not match the body and x-bus-cursor' });
      // A real comment after it goes all the way: once it shows, anything applied before it would too.
      const real = await call(fault.gateway, 'POST', `/posts/${id}/comments`, { content: 'the real one' });
      expect(real.status).toBe(201);
      await waitFor(
        async () =>
          (await getJson<Record<string, { comments: { status: string }[] }>>(fault.gateway, '/posts'))[id]?.comments[0]
            ?.status === 'approved',
        `the real comment to be shown approved after the forged delivery to ${subscriber}`,
        { timeoutMs: 20_000 },
      );
      const map = await getJson<Record<string, { comments: { id: string }[] }>>(fault.gateway, '/posts');
      expect(map[id]!.comments.map((comment) => comment.id)).not.toContain(forged.data.id);
      const log = await readLog(fault.log);
      expect(log.filter((event) => event.id.endsWith(forged.data.id))).toEqual([]);
    },
  );
});

describe('a delivery signed with the subscriber’s own key, claiming a position past the log', () => {
  const FAR = 9007199254740990;

  it.each(['query', 'moderation'] as const)('is refused by %s with 422 and does not freeze it', async (subscriber) => {
    const forged = {
      seq: FAR,
      id: `CommentCreated:freeze-${subscriber}`,
      type: 'CommentCreated',
      data: { id: `freeze-${subscriber}`, postId: 'nowhere', content: 'x', status: 'pending' },
      time: new Date().toISOString(),
    };
    const position = await subscriberCursor(subscriber);

    const withoutCursor = await deliver(subscriber, secretsOf(subscriber), forged);
    const withCursor = await deliver(subscriber, secretsOf(subscriber), forged, position);
    const pastCursor = await deliver(subscriber, secretsOf(subscriber), { ...forged, seq: position }, FAR);

    expect([withoutCursor.status, withCursor.status, pastCursor.status]).toEqual([422, 422, 422]);
    expect(withCursor.json).toEqual({ message: expect.stringContaining(`seq: ${FAR} is past the end of the log`) });
    expect(pastCursor.json).toEqual({
      message: expect.stringContaining(`x-bus-cursor: ${FAR} is past the end of the log`),
    });
    // Still applying what comes next: a new comment is moderated and shown.
    const created = await call(fault.gateway, 'POST', '/posts/create', {
      title: `after the forged ${subscriber} delivery`,
    });
    const { id } = created.json as { id: string };
    const comment = await call(fault.gateway, 'POST', `/posts/${id}/comments`, { content: 'still moving' });
    expect(comment.status).toBe(201);
    await waitFor(
      async () =>
        (await getJson<Record<string, { comments: { status: string }[] }>>(fault.gateway, '/posts'))[id]?.comments[0]
          ?.status === 'approved',
      `the comment after the forged delivery to ${subscriber} to be shown approved`,
      { timeoutMs: 20_000 },
    );
  });
});
