import { EVENT_TYPES } from '@mini-blog/common/events';
import { SUBSCRIBER_NAMES } from '@mini-blog/common/registry';
import { waitFor } from '@mini-blog/common/testing';
import { DeliveryProxy } from './support/delivery-proxy';
import { startFaultSystem, type FaultSystem } from './support/fault-system';
import { recordFigures } from './support/figures';
import { call, getJson } from './support/http';
import { Ledger, Load } from './support/load';
import { LagSampler, subscriptions } from './support/subscriptions';
import { converged, type CourseMap, expectConsistent, readLog, verify } from './support/verify';

/**
 * Subscribers that fall behind must not hold back the others. The bus delivers as infra/k8s
 * configures it (each subscriber only its types, in batches), with two test proxies:
 * - `query` reached through a proxy that can refuse deliveries (query down for the bus) while
 *   10,000 events are published, then pass them on: query catches up in order;
 * - `slow`, an extra subscriber that answers each delivery after 2 s.
 */

jest.setTimeout(180_000);

const ALL_TYPES = EVENT_TYPES.join('+');
const BEHIND = 10_000;
const PUBLISH_BATCH = 1000;
const SLOW_MS = 2000;
const OTHERS = SUBSCRIBER_NAMES.filter((name) => name !== 'query');
/** What "current" means under load on a small shared machine: a few deliveries' worth. */
const MAX_LAG_OF_OTHERS = 100;

let fault: FaultSystem;
let queryProxy: DeliveryProxy;
let slowSubscriber: DeliveryProxy;
const ledger = new Ledger();

beforeAll(async () => {
  queryProxy = await DeliveryProxy.start();
  slowSubscriber = await DeliveryProxy.start();
  slowSubscriber.mode = { kind: 'slow', ms: 0 };
  fault = await startFaultSystem({
    name: 'lag',
    // A subscriber refused for a while is retried at least every second, so its catch-up starts promptly.
    env: { 'event-bus': { RETRY_MAX_MS: '1000' } },
    subscribers: (urls) =>
      [
        `posts=${urls.posts}|types=PostCreated|batch`,
        `comments=${urls.comments}|types=${ALL_TYPES}|batch`,
        `query=${queryProxy.url}|types=${ALL_TYPES}|batch`,
        `moderation=${urls.moderation}|types=CommentCreated|batch`,
        `slow=${slowSubscriber.url}|types=PostCreated+CommentCreated`,
      ].join(','),
  });
  queryProxy.target = `${fault.system.services.query.url}/events`;
});

afterAll(async () => {
  await fault?.stop();
  await queryProxy?.close();
  await slowSubscriber?.close();
});

/** The others whose highest lag went over `max`, as `name: lag`. */
function lagsOver(maxLag: Record<string, number>, max: number): string[] {
  return OTHERS.filter((name) => (maxLag[name] ?? 0) > max).map((name) => `${name}: ${maxLag[name]}`);
}

/** Runs a load through the gateway while sampling every subscriber's lag; returns the highest lags. */
async function loadWhileSampling(
  tag: string,
  requests: number,
): Promise<{ maxLag: Record<string, number>; drainMs: number }> {
  const sampler = new LagSampler(fault.busViews);
  await new Load({ gateway: fault.gateway, ledger, tag, maxRequests: requests, ratePerSecond: 30 }).finished();
  const loadEnded = Date.now();
  await waitFor(
    async () => {
      const status = await subscriptions(fault.busViews);
      return OTHERS.every((name) => status.get(name)!.lag === 0);
    },
    `${OTHERS.join(', ')} to have no lag after the load`,
    { timeoutMs: 15_000 },
  );
  return { maxLag: await sampler.stop(), drainMs: Date.now() - loadEnded };
}

describe('a slow subscriber', () => {
  it(`does not slow the others: their lag stays as without it while it answers after ${SLOW_MS / 1000} s`, async () => {
    const baseline = await loadWhileSampling('baseline', 90);
    slowSubscriber.mode = { kind: 'slow', ms: SLOW_MS };
    const before = (await subscriptions(fault.busViews)).get('slow')!.cursor;

    const slowed = await loadWhileSampling('slowed', 90);
    const slow = (await subscriptions(fault.busViews)).get('slow')!;

    recordFigures('slow-subscriber', {
      injected: `an extra subscriber answering every delivery after ${SLOW_MS} ms`,
      requests: 180,
      acknowledged: ledger.acknowledged,
      othersMaxLagWithoutSlow: Object.fromEntries(OTHERS.map((name) => [name, baseline.maxLag[name]])),
      othersMaxLagWithSlow: Object.fromEntries(OTHERS.map((name) => [name, slowed.maxLag[name]])),
      othersDrainMsWithoutSlow: baseline.drainMs,
      othersDrainMsWithSlow: slowed.drainMs,
      slowLagAtEnd: slow.lag,
      slowDelivered: slow.cursor - before,
    });

    expect(lagsOver(slowed.maxLag, MAX_LAG_OF_OTHERS)).toEqual([]);
    // The slow one got only a few events meanwhile, and the others did not wait for it.
    expect(slow.lag).toBeGreaterThan(40);
    expect(slowed.drainMs).toBeLessThan(5000);
  });
});

describe(`a subscriber ${BEHIND} events behind`, () => {
  it('catches up in order within a bounded time while the others stay current', async () => {
    queryProxy.mode = { kind: 'refuse' };
    const publishStarted = Date.now();
    for (let first = 0; first < BEHIND; first += PUBLISH_BATCH) {
      const batch = Array.from({ length: PUBLISH_BATCH }, (_, index) => {
        const id = `lag-${first + index}`;
        ledger.attemptedTitles.add(`bulk post ${first + index}`);
        return { type: 'PostCreated', id: `PostCreated:${id}`, data: { id, title: `bulk post ${first + index}` } };
      });
      const answer = await call(fault.bus, 'POST', '/events', batch, {
        timeoutMs: 30_000,
        headers: fault.auth('posts'),
      });
      expect(answer.status).toBe(201);
      for (const event of batch) ledger.posts.set(event.data.id, event.data);
    }
    const publishMs = Date.now() - publishStarted;

    const behind = await waitFor(
      async () => {
        const status = await subscriptions(fault.busViews);
        return OTHERS.every((name) => status.get(name)!.lag === 0) && status.get('query')!.lag >= BEHIND && status;
      },
      `the others to take the ${BEHIND} events while query is refused`,
      { timeoutMs: 60_000, intervalMs: 100 },
    );
    const queryCursor = behind.get('query')!.cursor;
    const othersTookMs = Date.now() - publishStarted;

    // The catch-up starts in the middle of live traffic, which the others must keep up with.
    const sampler = new LagSampler(fault.busViews);
    const live = new Load({
      gateway: fault.gateway,
      ledger,
      tag: 'during catch-up',
      maxRequests: 60,
      ratePerSecond: 30,
    });
    await waitFor(() => live.issued >= 15, 'the live load to be under way', { timeoutMs: 10_000 });
    const acknowledgedBefore = queryProxy.acknowledged.length;
    queryProxy.mode = { kind: 'forward' };
    const catchUpStarted = Date.now();
    await waitFor(
      async () => (await subscriptions(fault.busViews)).get('query')!.lag === 0,
      `query to catch up ${BEHIND} events`,
      { timeoutMs: 60_000, intervalMs: 100 },
    );
    const catchUpMs = Date.now() - catchUpStarted;
    await live.finished();
    await waitFor(
      async () =>
        [...(await subscriptions(fault.busViews)).values()].every(
          (status) => status.name === 'slow' || status.lag === 0,
        ),
      'every subscriber but the slow one to be current',
      { timeoutMs: 15_000 },
    );
    const maxLag = await sampler.stop();

    let view: CourseMap = {};
    await waitFor(
      async () => {
        view = await getJson<CourseMap>(fault.gateway, '/posts', 30_000);
        return converged(ledger, view);
      },
      'every acknowledged post and comment to show in GET /posts',
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    const log = await readLog(fault.log);
    const result = verify(ledger, view, log);
    const delivered = queryProxy.acknowledged.slice(acknowledgedBefore);
    const outOfOrder = delivered.filter((seq, index) => index > 0 && seq <= delivered[index - 1]!).length;
    const expectedSeqs = log.filter((event) => event.seq > queryCursor).map((event) => event.seq);
    const bulkOrder = Object.keys(view).filter((id) => id.startsWith('lag-'));

    recordFigures('subscriber-behind', {
      injected: `query refused by its proxy while ${BEHIND} events were published in batches of ${PUBLISH_BATCH}, then let through under load`,
      eventsSent: BEHIND,
      publishMs,
      othersTookMs,
      requests: ledger.requests,
      acknowledged: ledger.acknowledged,
      found: result.found,
      duplicates: result.duplicates.length,
      logEvents: result.logEvents,
      logGaps: result.logGaps.length,
      queryLagAtStart: behind.get('query')!.lag,
      catchUpMs,
      deliveredToQuery: delivered.length,
      outOfOrder,
      othersMaxLagDuringCatchUp: Object.fromEntries(OTHERS.map((name) => [name, maxLag[name]])),
    });

    expect(outOfOrder).toBe(0);
    expect(delivered).toEqual(expectedSeqs);
    expect(bulkOrder).toEqual(Array.from({ length: BEHIND }, (_, index) => `lag-${index}`));
    expect(catchUpMs).toBeLessThan(60_000);
    expect(lagsOver(maxLag, MAX_LAG_OF_OTHERS)).toEqual([]);
    expectConsistent(result);
  });
});
