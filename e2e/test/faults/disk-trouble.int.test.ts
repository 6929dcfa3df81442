import { waitFor } from '@mini-blog/common/testing';
import { startFaultSystem, type FaultSystem } from './support/fault-system';
import { FileSizeLimit } from './support/file-size-limit';
import { recordFigures } from './support/figures';
import { call } from './support/http';
import { Ledger, Load } from './support/load';
import { convergeAndVerify, expectConsistent } from './support/verify';

/**
 * The bus's store unwritable (every file write fails, as on a full or failing disk) while clients
 * publish through the gateway: publishes are refused with 503, nothing acknowledged before is lost
 * (even across a kill -9 once the disk is back), and publishing works again afterwards.
 */

jest.setTimeout(120_000);

let fault: FaultSystem;
let limit: FileSizeLimit | undefined;

beforeAll(async () => {
  fault = await startFaultSystem({ name: 'disk' });
});

afterEach(() => {
  limit?.restore();
  limit = undefined;
});

afterAll(async () => {
  await fault?.stop();
});

function cutTheDisk(): void {
  const pid = fault.system.services['event-bus'].pid;
  if (pid === undefined) throw new Error('event-bus: not running');
  limit = FileSizeLimit.cut(pid);
}

function restoreTheDisk(): void {
  limit?.restore();
  limit = undefined;
}

const publishDirectly = (title: string) =>
  call(
    fault.bus,
    'POST',
    '/events',
    { type: 'PostCreated', data: { id: title, title } },
    { headers: fault.auth('posts') },
  );

describe('the bus store unwritable', () => {
  it('refuses publishes with 503, loses nothing acknowledged, and publishes again once the disk is back', async () => {
    const { system, gateway, bus } = fault;
    const ledger = new Ledger();
    await new Load({ gateway, ledger, tag: 'before', maxRequests: 40, ratePerSecond: 100 }).finished();

    cutTheDisk();
    const refusedLedger = new Ledger();
    // Its comments go to posts acknowledged before the disk trouble.
    for (const post of ledger.posts.values()) refusedLedger.posts.set(post.id, post);
    const during = new Load({ gateway, ledger: refusedLedger, tag: 'during', maxRequests: 30, ratePerSecond: 100 });
    await during.finished();
    const direct = await publishDirectly('written to a full disk');
    const readyWhileCut = await call(bus, 'GET', '/readyz');
    restoreTheDisk();

    const recoveredAt = Date.now();
    await new Load({ gateway, ledger, tag: 'after', maxRequests: 40, ratePerSecond: 100 }).finished();
    await system.services['event-bus'].stop('SIGKILL');
    system.services['event-bus'].start();
    await system.waitReady('event-bus', 30_000);

    const { log, result, convergeMs } = await convergeAndVerify(gateway, fault.log, ledger, recoveredAt);
    const storedWhileCut = log.filter(
      (event) =>
        (event.type === 'PostCreated' &&
          (refusedLedger.attemptedTitles.has(event.data.title) || event.data.title === 'written to a full disk')) ||
        (event.type === 'CommentCreated' && refusedLedger.attemptedContents.has(event.data.content)),
    );

    recordFigures('disk-trouble', {
      injected:
        'RLIMIT_FSIZE of the event-bus process set to 0 (every file write fails) for 30 requests, then restored; then kill -9 of the bus',
      requests: ledger.requests + refusedLedger.requests + 1,
      acknowledged: ledger.acknowledged,
      answersWhileCut: refusedLedger.outcomeCounts(),
      busAnswerWhileCut: `${direct.status} ${direct.text}`,
      busReadyWhileCut: readyWhileCut.status,
      storedWhileCut: storedWhileCut.length,
      found: result.found,
      duplicates: result.duplicates.length,
      logEvents: result.logEvents,
      logGaps: result.logGaps.length,
      convergeMs,
    });

    expect(refusedLedger.outcomeCounts()).toEqual({ '503': 30 });
    for (const message of refusedLedger.failureMessages.values()) {
      expect(JSON.parse(message)).toEqual({
        message: expect.stringMatching(/^event-bus: unavailable \(.+\); nothing was stored, try again$/),
      });
    }
    expect(direct.status).toBe(503);
    expect(storedWhileCut).toEqual([]);
    expect(ledger.outcomeCounts()).toEqual({ '201': 80 });
    expectConsistent(result);
  });

  it('the bus answers a publish it cannot store with 503 and a message that names its log', async () => {
    cutTheDisk();
    const answer = await publishDirectly('refused by the store');
    restoreTheDisk();

    expect(answer.status).toBe(503);
    expect(answer.json).toEqual({
      message: expect.stringMatching(/^event-bus: the log could not be written \(.+\); nothing was stored, try again$/),
    });
  });

  it('the bus reports not ready while its store is unwritable, and ready again once it can write', async () => {
    cutTheDisk();
    await publishDirectly('noticed by the store');
    await waitFor(
      async () => (await call(fault.bus, 'GET', '/readyz')).status === 503,
      'event-bus /readyz to answer 503',
      { timeoutMs: 3000 },
    );
    restoreTheDisk();
    await waitFor(
      async () => (await call(fault.bus, 'GET', '/readyz')).status === 200,
      'event-bus /readyz to answer 200 again',
      { timeoutMs: 10_000 },
    );
  });
});
