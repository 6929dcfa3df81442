import { isSubscriber, PUBLISHER_NAMES, SERVICE_NAMES } from '@mini-blog/common/registry';
import { waitFor } from '@mini-blog/common/testing';
import type { ServiceName } from '@mini-blog/launcher';
import { startFaultSystem, type FaultSystem } from './support/fault-system';
import { outcomeFigures, recordFigures } from './support/figures';
import { Ledger, Load } from './support/load';
import { convergeAndVerify, expectConsistent } from './support/verify';

/**
 * kill -9 of each service in turn while clients create posts and comments through the gateway;
 * each one is started again once a share of the load has run against it down. Afterwards every
 * answer 2xx must be kept: the post or comment is in the query view with moderation's verdict,
 * nothing is there twice, and the log has no gap.
 */

jest.setTimeout(150_000);

/** The bus and every service that publishes or consumes events (the registry's): all but the static client. */
const VICTIMS: readonly ServiceName[] = SERVICE_NAMES.filter(
  (name) => name === 'event-bus' || PUBLISHER_NAMES.includes(name) || isSubscriber(name),
);
/** Requests started while a service is down, and after it is back before the next one goes down. */
const REQUESTS_WHILE_DOWN = 20;
const REQUESTS_BETWEEN = 15;

let fault: FaultSystem;

beforeAll(async () => {
  fault = await startFaultSystem({ name: 'kill' });
});

afterAll(async () => {
  await fault?.stop();
});

describe('kill -9 of each service in turn under load', () => {
  it('keeps every acknowledged post and comment, once, with its verdict, in a log without gaps', async () => {
    const { system, gateway } = fault;
    const ledger = new Ledger();
    const load = new Load({ gateway, ledger, tag: 'kill', maxRequests: 1000, concurrency: 10, ratePerSecond: 30 });
    const downtimes: Record<string, number> = {};

    try {
      await waitFor(() => load.issued >= REQUESTS_BETWEEN, `the first ${REQUESTS_BETWEEN} requests`, {
        timeoutMs: 10_000,
      });
      for (const victim of VICTIMS) {
        const service = system.services[victim];
        await service.stop('SIGKILL');
        const downAt = Date.now();
        const target = load.issued + REQUESTS_WHILE_DOWN;
        await waitFor(() => load.issued >= target, `${REQUESTS_WHILE_DOWN} requests while ${victim} is down`, {
          timeoutMs: 20_000,
        });
        service.start();
        await system.waitReady(victim, 30_000);
        downtimes[victim] = Date.now() - downAt;
        const next = load.issued + REQUESTS_BETWEEN;
        await waitFor(() => load.issued >= next, `${REQUESTS_BETWEEN} requests after ${victim} is back`, {
          timeoutMs: 20_000,
        });
      }
    } finally {
      await load.stop();
    }
    const loadEnded = Date.now();

    const { result, convergeMs } = await convergeAndVerify(gateway, fault.log, ledger, loadEnded, fault.logTail);

    recordFigures('kill-restart', {
      injected: `SIGKILL of ${VICTIMS.join(', ')} in turn, each restarted after ${REQUESTS_WHILE_DOWN} requests`,
      ...outcomeFigures(ledger, result),
      downtimeMs: downtimes,
      convergeMs,
    });

    expect(ledger.acknowledged).toBeGreaterThan(100);
    expectConsistent(result);
    expect(result.found).toBe(ledger.acknowledged);
    // Every failure said why, in JSON, from the gateway or the service behind it.
    for (const [status, message] of ledger.failureMessages) {
      if (status !== 0)
        expect({ status, message: (JSON.parse(message) as { message?: string }).message }).toEqual({
          status,
          message: expect.any(String),
        });
    }
  });
});
