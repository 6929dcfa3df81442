import { readCredential } from '@mini-blog/common/auth';
import type { Envelope } from '@mini-blog/common/events';
import { waitFor } from '@mini-blog/common/testing';
import { DeliveryProxy } from './support/delivery-proxy';
import { startFaultSystem, type FaultSystem } from './support/fault-system';
import { recordFigures } from './support/figures';
import { getJson } from './support/http';
import { Ledger, Load } from './support/load';
import { converged, firstOf, readLog, verify, type CourseMap, type ViewComment } from './support/verify';

/**
 * Duplicate and reordered deliveries: a proxy between the bus and query takes each delivery, then
 * passes them on in shuffled groups, some twice, some old ones again much later, half of them
 * without the bus's cursor header. The read model must end up exactly as the in-order, once-only
 * log makes it: as a reference reducer computes it from the log; and query, restarted, answers the
 * same view from its projection file, read on from its checkpoint.
 */

jest.setTimeout(120_000);

let fault: FaultSystem;
let proxy: DeliveryProxy;

beforeAll(async () => {
  proxy = await DeliveryProxy.start();
  fault = await startFaultSystem({
    name: 'redelivery',
    subscribers: (urls) =>
      `posts=${urls.posts},comments=${urls.comments},moderation=${urls.moderation},query=${proxy.url}`,
  });
  proxy.target = `${fault.system.services.query.url}/events`;
  proxy.signingSecrets = readCredential(fault.system.credentialsDir, 'query');
});

afterAll(async () => {
  await fault?.stop();
  await proxy?.close();
});

/** The course map that the log, applied in order and once, gives. */
function inOrderView(log: readonly Envelope[]): CourseMap {
  const posts = new Map<string, { id: string; title: string; comments: Map<string, ViewComment> }>();
  for (const event of log) {
    switch (event.type) {
      case 'PostCreated':
        posts.set(event.data.id, { id: event.data.id, title: event.data.title, comments: new Map() });
        break;
      case 'CommentCreated':
        posts
          .get(event.data.postId)
          ?.comments.set(event.data.id, { id: event.data.id, content: event.data.content, status: 'pending' });
        break;
      case 'CommentModerated':
      case 'CommentUpdated': {
        const comment = posts.get(event.data.postId)?.comments.get(event.data.id);
        if (comment)
          posts
            .get(event.data.postId)!
            .comments.set(event.data.id, { ...comment, status: event.data.status, content: event.data.content });
        break;
      }
    }
  }
  return Object.fromEntries(
    [...posts.values()].map((post) => [
      post.id,
      {
        id: post.id,
        title: post.title,
        comments: [...post.comments.values()].map((comment) => ({
          ...comment,
          content: comment.status === 'approved' ? comment.content : '',
        })),
      },
    ]),
  );
}

describe('duplicate and reordered deliveries to query', () => {
  it('converge to the in-order result', async () => {
    const { gateway, system } = fault;
    proxy.mode = { kind: 'chaos', window: 8, duplicateRate: 0.3, staleRate: 0.1 };
    const ledger = new Ledger();
    await new Load({ gateway, ledger, tag: 'chaos', maxRequests: 200, ratePerSecond: 40 }).finished();
    const loadEnded = Date.now();

    let view: CourseMap = {};
    await waitFor(
      async () => {
        view = await getJson<CourseMap>(gateway, '/posts');
        return proxy.drained && converged(ledger, view);
      },
      'the proxy to have passed every delivery on and GET /posts to show every acknowledged post and comment',
      { timeoutMs: 45_000, intervalMs: 250 },
    );
    const convergeMs = Date.now() - loadEnded;
    // Once every verdict shows, every event there will be is in the log.
    const log = await readLog(fault.log);
    const expected = inOrderView(log);
    const result = verify(ledger, view, log);

    await system.services.query.stop();
    system.services.query.start();
    await system.waitReady('query', 30_000);
    const replayed = await getJson<CourseMap>(gateway, '/posts');

    recordFigures('duplicates-and-reordering', {
      injected:
        'a proxy between the bus and query: shuffled groups of 8, 30% sent twice, 10% followed by an old delivery again, half without x-bus-cursor',
      requests: ledger.requests,
      acknowledged: ledger.acknowledged,
      found: result.found,
      duplicatesInView: result.duplicates.length,
      logEvents: result.logEvents,
      deliveriesFromBus: proxy.chaos.received,
      sentToQuery: proxy.chaos.sent,
      duplicatesInjected: proxy.chaos.duplicates,
      staleRepeatsInjected: proxy.chaos.stale,
      sentOutOfOrder: proxy.chaos.outOfOrder,
      sentWithoutCursor: proxy.chaos.withoutCursor,
      rejectedByQuery: proxy.rejections.length,
      convergeMs,
    });

    expect(proxy.chaos.duplicates + proxy.chaos.stale).toBeGreaterThan(20);
    expect(proxy.chaos.outOfOrder).toBeGreaterThan(20);
    expect(proxy.rejections).toEqual([]);
    expect(view).toEqual(expected);
    expect(Object.keys(view)).toEqual(Object.keys(expected));
    expect(replayed).toEqual(view);
    expect(firstOf(result.missing)).toBe('none');
    expect(firstOf(result.wrongState)).toBe('none');
    expect(firstOf(result.duplicates)).toBe('none');
    expect(firstOf(result.storedThoughRefused)).toBe('none');
    expect(firstOf(result.logGaps)).toBe('none');
  });
});
