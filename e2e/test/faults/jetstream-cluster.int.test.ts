import { waitFor } from '@mini-blog/common/testing';
import { waitForReady } from '@mini-blog/launcher';
import { startFaultSystem, type FaultSystem } from './support/fault-system';
import { outcomeFigures, recordFigures } from './support/figures';
import { jetstreamLog, REPLICATED, startSecondReplicas, streamLeader, type Replicas } from './support/jetstream';
import { Ledger, Load } from './support/load';
import { convergeAndVerify, expectConsistent } from './support/verify';

/**
 * The system on a 3-node NATS JetStream cluster on loopback, with two replicas of every service
 * behind a gateway that sends requests to running replicas only. Clients create posts and comments
 * while nodes and services die; after each scenario every acknowledged post and comment must be in
 * the view with its verdict, once, and the stream must hold each event once, without gaps. One
 * ledger runs through the scenarios, so each check covers everything acknowledged so far.
 */

jest.setTimeout(180_000);

const RATE = 30;
/** Requests started during a fault, and after it before the next. */
const DURING = 30;
const BETWEEN = 15;

let fault: FaultSystem;
let replicas: Replicas;
const ledger = new Ledger();

beforeAll(async () => {
  fault = await startFaultSystem({
    name: 'jetstream',
    transport: { transport: 'jetstream', natsNodes: 3 },
    readyTimeoutMs: 90_000,
  });
  replicas = await startSecondReplicas(fault, 90_000);
});

afterAll(async () => {
  await replicas?.stop();
  await fault?.stop();
});

/** Runs `scenario` under load, then waits for the view and checks it and the stream against the ledger. */
async function underLoad(tag: string, scenario: (load: Load) => Promise<void>) {
  const load = new Load({
    gateway: replicas.gateway,
    ledger,
    tag,
    maxRequests: 2000,
    concurrency: 10,
    ratePerSecond: RATE,
  });
  const acknowledgedBefore = ledger.acknowledged;
  try {
    await requests(load, BETWEEN, 'the first requests');
    await scenario(load);
    await requests(load, BETWEEN, 'requests after the last fault');
  } finally {
    await load.stop();
  }
  const outcome = await convergeAndVerify(replicas.gateway, jetstreamLog(fault), ledger, Date.now(), fault.logTail);
  return { ...outcome, acknowledged: ledger.acknowledged - acknowledgedBefore };
}

/** Waits until `count` more requests have started. */
async function requests(load: Load, count: number, what: string): Promise<void> {
  const target = load.issued + count;
  await waitFor(() => load.issued >= target, `${count} ${what}`, { timeoutMs: 30_000 });
}

function expectKept(outcome: Awaited<ReturnType<typeof underLoad>>): void {
  expectConsistent(outcome.result);
  expect(outcome.result.found).toBe(ledger.acknowledged);
  expect(outcome.acknowledged).toBeGreaterThan(30);
}

describe('a 3-node JetStream cluster, two replicas of every service, under load', () => {
  it('keeps every acknowledged post and comment through a kill -9 of the stream leader and of a follower', async () => {
    const nats = fault.system.nats!;
    const killed: number[] = [];
    const outcome = await underLoad('leader', async (load) => {
      for (const pick of ['leader', 'follower'] as const) {
        const leader = await streamLeader(fault);
        // The follower: neither the leader nor the node killed before.
        const victim =
          pick === 'leader' ? leader : [0, 1, 2].find((index) => index !== leader && !killed.includes(index))!;
        const node = nats.nodes[victim]!;
        const pid = node.pid!;
        process.kill(pid, 'SIGKILL');
        killed.push(victim);
        await requests(load, DURING, `requests while nats-${victim} is down`);
        // The launcher starts a crashed node again, as it does a service.
        await waitFor(() => node.running && node.pid !== pid, `nats-${victim} to be started again`);
        await nats.waitHealthy(victim);
        await requests(load, BETWEEN, `requests after nats-${victim} is back`);
      }
    });

    recordFigures('jetstream-node-kill', {
      injected: `SIGKILL of the stream leader nats-${killed[0]}, then of the follower nats-${killed[1]}`,
      ...figuresOf(outcome),
    });
    expectKept(outcome);
  });

  it('keeps them through a rolling restart of all three nodes', async () => {
    const nats = fault.system.nats!;
    const outcome = await underLoad('rolling', async (load) => {
      for (const [index, node] of nats.nodes.entries()) {
        await node.stop();
        await requests(load, BETWEEN, `requests while nats-${index} restarts`);
        node.start();
        await nats.waitHealthy(index);
      }
    });

    recordFigures('jetstream-rolling-restart', {
      injected: 'SIGTERM and start of nats-0, nats-1, nats-2 in turn',
      ...figuresOf(outcome),
    });
    expectKept(outcome);
  });

  it('keeps them through a kill -9 of one replica of each service while the other runs', async () => {
    const outcome = await underLoad('replica', async (load) => {
      for (const [turn, name] of REPLICATED.entries()) {
        const replica = replicas.replicas[name][turn % 2]!;
        const pid = replica.pid!;
        process.kill(pid, 'SIGKILL');
        await requests(load, DURING, `requests while a replica of ${name} is down`);
        await waitFor(() => replica.running && replica.pid !== pid, `${replica.spec.name} to be started again`);
        await waitForReady(replica, 30_000);
      }
    });

    recordFigures('jetstream-replica-kill', {
      injected: `SIGKILL of one replica of ${REPLICATED.join(', ')} in turn`,
      ...figuresOf(outcome),
    });
    expectKept(outcome);
  });
});

function figuresOf({ result, convergeMs, acknowledged }: Awaited<ReturnType<typeof underLoad>>) {
  return { ...outcomeFigures(ledger, result), acknowledgedInScenario: acknowledged, convergeMs };
}
