import { startFaultSystem, type FaultSystem } from './support/fault-system';
import { recordFigures } from './support/figures';
import { call, type Answer } from './support/http';
import { Ledger, Load } from './support/load';
import { convergeAndVerify, expectConsistent } from './support/verify';

/**
 * The bus down (killed, not restarted for a while): every service that must publish answers 503
 * at once with a message that says the bus is unavailable, and nothing of those requests is stored
 * anywhere, even later; reads keep working; once the bus is back, publishing succeeds again and
 * everything acknowledged before, during and after is there.
 */

jest.setTimeout(120_000);

const REQUESTS_WHILE_DOWN = 20;
/** The bus client's retries (with backoff) must end well within this. */
const MAX_503_MS = 5000;

let fault: FaultSystem;

beforeAll(async () => {
  fault = await startFaultSystem({ name: 'bus-outage' });
});

afterAll(async () => {
  await fault?.stop();
});

describe('the bus down', () => {
  it('answers 503 with a clear message, stores nothing of it, and works again once the bus is back', async () => {
    const { system, gateway } = fault;
    const ledger = new Ledger();
    await new Load({ gateway, ledger, tag: 'before', maxRequests: 40, ratePerSecond: 100 }).finished();
    const knownPost = [...ledger.posts.values()][0]!;

    await system.services['event-bus'].stop('SIGKILL');
    const downAt = Date.now();
    const titles = Array.from({ length: REQUESTS_WHILE_DOWN }, (_, index) => `outage post ${index}`);
    const contents = Array.from({ length: REQUESTS_WHILE_DOWN }, (_, index) => `outage comment ${index}`);
    const timed = async (request: () => Promise<Answer>) => {
      const started = Date.now();
      const answer = await request();
      return { ...answer, ms: Date.now() - started };
    };
    const refused = await Promise.all([
      ...titles.map((title) => timed(() => call(gateway, 'POST', '/posts/create', { title }))),
      ...contents.map((content) => timed(() => call(gateway, 'POST', `/posts/${knownPost.id}/comments`, { content }))),
    ]);
    // Reads do not need the bus.
    const viewWhileDown = await call(gateway, 'GET', '/posts');
    const commentsWhileDown = await call(gateway, 'GET', `/posts/${knownPost.id}/comments`);

    system.services['event-bus'].start();
    await system.waitReady('event-bus', 30_000);
    const downMs = Date.now() - downAt;
    const after = new Load({ gateway, ledger, tag: 'after', maxRequests: 40, ratePerSecond: 100 });
    await after.finished();
    const recoveredAt = Date.now();

    const { view, log, result, convergeMs } = await convergeAndVerify(gateway, fault.log, ledger, recoveredAt);
    const storedFromOutage = log.filter(
      (event) =>
        (event.type === 'PostCreated' && titles.includes(event.data.title)) ||
        (event.type === 'CommentCreated' && contents.includes(event.data.content)),
    );

    recordFigures('bus-outage', {
      injected: `event-bus killed for ${REQUESTS_WHILE_DOWN} posts and ${REQUESTS_WHILE_DOWN} comments, then started again`,
      requests: ledger.requests + refused.length,
      acknowledged: ledger.acknowledged,
      refusedWhileDown: refused.filter((answer) => answer.status === 503).length,
      slowest503Ms: Math.max(...refused.map((answer) => answer.ms)),
      storedFromOutage: storedFromOutage.length,
      found: result.found,
      duplicates: result.duplicates.length,
      logEvents: result.logEvents,
      logGaps: result.logGaps.length,
      downtimeMs: downMs,
      convergeMs,
    });

    expect(refused.map((answer) => answer.status)).toEqual(refused.map(() => 503));
    for (const answer of refused) {
      expect(answer.json).toEqual({
        message: expect.stringMatching(/^event-bus: unavailable \(.+\); nothing was stored, try again$/),
      });
      expect(answer.ms).toBeLessThan(MAX_503_MS);
    }
    expect(viewWhileDown.status).toBe(200);
    expect(commentsWhileDown.status).toBe(200);
    expect(commentsWhileDown.text).not.toContain('outage comment');
    expect(storedFromOutage).toEqual([]);
    expect(JSON.stringify(view)).not.toContain('outage');
    expect(after.issued).toBe(40);
    expect(ledger.outcomeCounts()).toEqual({ '201': 80 });
    expectConsistent(result);
  });
});
