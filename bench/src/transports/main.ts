import { mkdirSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { benchmarkRun, runBenchmarks, scale, scaled } from '../cli';
import type { NewEvent } from '@mini-blog/common/events';
import type { EventTransport } from '@mini-blog/common/transport';
import { startSystem } from '@mini-blog/launcher';
import type { LoadReport } from '@mini-blog/blogctl';
import { measureEventChain } from '../system/event-chain-latency';
import { cpuMsOf } from '../system/processes';
import { describe, describeLoad, distribution, ms, perSecond, say, verdict } from '../system/report';
import {
  CONSUMERS,
  deliveryServer,
  LagRecorder,
  LOG_KINDS,
  LOG_NAMES,
  startLog,
  writeCredentials,
  type LogKind,
} from './logs';

/**
 * The HTTP bus and NATS JetStream side by side in one run (docs/benchmarks.md, "Transports"), each
 * through the services' own transport: acknowledged publishes, fan-out to four consumers, replay,
 * the event chain through the whole system, and the highest comment rate the whole system keeps
 * up with at p99 < 100 ms from sending a comment to its verdict on the live stream, both with `blogctl load`. Pick some with arguments
 * (`publish fanout replay chain sustained`); BENCH_SCALE=0.2 for a quick check.
 */
const ALL = ['publish', 'fanout', 'replay', 'chain', 'sustained'] as const;

const PUBLISH_IN_FLIGHT = 100;
/**
 * The rates the sustained benchmark climbs through, lowest first; BENCH_RATES=500 measures one
 * (comma-separated rates for others).
 */
const SUSTAINED_RATES = (process.env.BENCH_RATES ?? '100,200,300,400,500,600,700,800,1000,1200')
  .split(',')
  .map(Number)
  .filter((rate) => rate > 0);
/** The whole-chain target: from sending the comment to its verdict on the live stream. */
const CHAIN_P99_MS = 100;

let serial = 0;
const postEvent = (tag: string): NewEvent => {
  serial += 1;
  return {
    type: 'PostCreated',
    id: `${tag}-${serial}`,
    data: { id: `${tag}-${serial}`, title: `A benchmark post, number ${serial}` },
  };
};

async function benchPublish(kind: LogKind, dir: string): Promise<string> {
  const secrets = writeCredentials(dir);
  const log = await startLog(kind, dir, secrets);
  try {
    const publisher = log.transport('posts');
    const run = async (seconds: number) => {
      const latencies: number[] = [];
      const deadline = performance.now() + seconds * 1000;
      const worker = async () => {
        while (performance.now() < deadline) {
          const started = performance.now();
          await publisher.publish(postEvent(`publish-${kind}`));
          latencies.push(performance.now() - started);
        }
      };
      const started = performance.now();
      await Promise.all(Array.from({ length: PUBLISH_IN_FLIGHT }, worker));
      return { rate: latencies.length / ((performance.now() - started) / 1000), latency: distribution(latencies) };
    };
    await run(2);
    const { rate, latency } = await run(scaled(10));
    return `${perSecond(rate)} acknowledged (${PUBLISH_IN_FLIGHT} in flight), latency ${describe(latency)}`;
  } finally {
    await log.stop();
  }
}

async function benchFanOut(kind: LogKind, dir: string, eventsPerSecond: number, seconds: number): Promise<string[]> {
  const secrets = writeCredentials(dir);
  const sinks = CONSUMERS.map((name) => new LagRecorder(name));
  const servers: Server[] = [];
  const pushTo: Record<string, string> = {};
  if (kind === 'http') {
    for (const sink of sinks) {
      const { url, server } = await deliveryServer(sink);
      servers.push(server);
      pushTo[sink.name] = url;
    }
  }
  const log = await startLog(kind, dir, secrets, pushTo);
  try {
    if (kind === 'jetstream') for (const sink of sinks) log.transport(sink.name).connect(sink);
    // Every consumer's live feed is open before the first event.
    await delay(1000);
    const publisher = log.transport('posts');
    const total = Math.round(eventsPerSecond * seconds);
    const started = performance.now();
    let failed = 0;
    const inFlight = new Set<Promise<unknown>>();
    let head = 0;
    for (let n = 0; n < total; n += 1) {
      const wait = started + (n * 1000) / eventsPerSecond - performance.now();
      if (wait > 0) await delay(wait);
      const sent: Promise<unknown> = publisher.publish(postEvent(`fan-${kind}`)).then(
        (result) => {
          head = Math.max(head, result.seq);
        },
        () => {
          failed += 1;
        },
      );
      inFlight.add(sent);
      void sent.finally(() => inFlight.delete(sent));
      if (inFlight.size >= 500) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    const published = performance.now();
    while (sinks.some((sink) => sink.currentPosition < head) && performance.now() - published < 60_000) await delay(20);
    const lines = [
      `published ${total.toLocaleString('en-US')} at ${perSecond(total / ((published - started) / 1000))} (${failed} failed); drained ${ms(performance.now() - published)} after the last answer`,
    ];
    for (const sink of sinks) {
      const lag = distribution(sink.lags);
      lines.push(
        `  ${sink.name}: ${sink.lags.length.toLocaleString('en-US')} received, ${sink.outOfOrder === 0 && sink.currentPosition >= head ? 'all, in order' : 'NOT all in order'}, lag p50 ${ms(lag.p50)}, p99 ${ms(lag.p99)}, max ${ms(lag.max)}`,
      );
    }
    return lines;
  } finally {
    await log.stop();
    for (const server of servers) server.close();
  }
}

async function benchReplay(kind: LogKind, dir: string, count: number): Promise<string> {
  const secrets = writeCredentials(dir);
  const log = await startLog(kind, dir, secrets);
  try {
    const publisher = log.transport('posts');
    const filling = performance.now();
    const batches = Math.ceil(count / 500);
    let next = 0;
    const fill = async () => {
      for (let n = next++; n < batches; n = next++)
        await publisher.publishBatch(Array.from({ length: 500 }, () => postEvent(`fill-${kind}`)));
    };
    await Promise.all(Array.from({ length: 4 }, fill));
    const filled = (performance.now() - filling) / 1000;
    // The admin may read the whole log on both (on the bus, a subscriber only once it is configured as one).
    const reader: EventTransport = log.transport('admin');
    const started = performance.now();
    let events = 0;
    for (let after = 0; ;) {
      const page = await reader.readLog({ after, limit: 5000 });
      events += page.events.length;
      after = page.next;
      if (after >= page.head) break;
    }
    const seconds = (performance.now() - started) / 1000;
    return `${events.toLocaleString('en-US')} events in pages of 5,000: ${perSecond(events / seconds)} (${seconds.toFixed(2)} s; filled at ${perSecond(count / filled)} in batches of 500)`;
  } finally {
    await log.stop();
  }
}

/**
 * BENCH_LAUNCHER runs the chain benchmarks against another build's system (its launcher's
 * `dist/index.js`, an earlier commit built in a folder of its own), measured by this build's
 * `blogctl load`: a before/after with one clock (docs/benchmarks.md).
 */
async function launcher(): Promise<typeof startSystem> {
  const script = process.env.BENCH_LAUNCHER;
  if (script === undefined) return startSystem;
  const other = (await import(path.resolve(script))) as { startSystem?: typeof startSystem };
  if (typeof other.startSystem !== 'function') throw new Error(`BENCH_LAUNCHER: ${script} exports no startSystem`);
  return other.startSystem;
}

/** CPU time (ms) each process of the system has used so far: the services, the NATS nodes, and this process (the gateway). */
type CpuNow = () => Record<string, number>;

/** The whole system on one transport, its gateway on a free port. */
async function withSystem<T>(
  kind: LogKind,
  dir: string,
  use: (gateway: string, cpuNow: CpuNow) => Promise<T>,
): Promise<T> {
  mkdirSync(dir, { recursive: true });
  const start = await launcher();
  const system = await start({
    port: 0,
    dataDir: dir,
    log: () => undefined,
    transport: kind === 'http' ? { transport: 'http' } : { transport: 'jetstream', natsNodes: 3 },
  });
  const processes = [...Object.values(system.services), ...(system.nats?.nodes ?? [])];
  const cpuNow: CpuNow = () => ({
    ...Object.fromEntries(processes.map((child) => [child.spec.name, cpuMsOf(child.pid)])),
    gateway: cpuMsOf(process.pid),
  });
  try {
    return await use(system.url.replace('localhost', '127.0.0.1'), cpuNow);
  } finally {
    await system.stop();
  }
}

/** Where the CPU went during a load: each process's share, and the whole system's per comment. */
function cpuLine(before: Record<string, number>, after: Record<string, number>, generatorMs: number, comments: number) {
  const used = {
    ...Object.fromEntries(Object.keys(after).map((name) => [name, after[name]! - before[name]!])),
    generator: generatorMs,
  };
  const total = Object.values(used).reduce((sum, value) => sum + value, 0);
  const shares = Object.entries(used)
    .filter(([, value]) => value > 0)
    .map(([name, value]) => `${name} ${Math.round(value).toLocaleString('en-US')}`)
    .join(', ');
  return `CPU (ms): ${shares}; ${(total / comments).toFixed(2)} ms per comment in all, load average ${loadavg()[0]!.toFixed(1)}`;
}

const kept = ({ comments }: LoadReport) =>
  comments.failed + comments.unanswered === 0 &&
  comments.missing === 0 &&
  (comments.shown.p99 ?? Infinity) < CHAIN_P99_MS;

function chainLine({ comments, sentPerSecond, lateness }: LoadReport): string {
  return `${comments.sent} comments at ${sentPerSecond.toFixed(0)}/s, ${comments.failed + comments.unanswered} failed, ${comments.missing} never shown; sent → verdict ${describeLoad(comments.shown)}; sent → 201 p99 ${ms(comments.request.p99 ?? Number.NaN)}; generator late p99 ${ms(lateness.p99 ?? Number.NaN)}`;
}

async function main(): Promise<void> {
  const { run, workDir } = benchmarkRun(ALL, 'transports');
  const dir = (name: string) => path.join(workDir, name);
  say(
    `Transports side by side: Node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), scale ${scale}; work folder ${workDir}${process.env.BENCH_LAUNCHER ? `; the system of ${process.env.BENCH_LAUNCHER}` : ''}`,
  );
  try {
    if (run('publish')) {
      say(`\n== Acknowledged publishes of single events, ${PUBLISH_IN_FLIGHT} in flight, ${scaled(10)} s ==`);
      for (const kind of LOG_KINDS) say(`  ${LOG_NAMES[kind]}: ${await benchPublish(kind, dir(`publish-${kind}`))}`);
    }
    if (run('fanout')) {
      const [eventsPerSecond, seconds] = [2000, scaled(15)];
      say(
        `\n== Fan-out to 4 consumers through the transport, ${eventsPerSecond.toLocaleString('en-US')} events/s for ${seconds} s; lag from stored to received ==`,
      );
      for (const kind of LOG_KINDS) {
        const [first, ...rest] = await benchFanOut(kind, dir(`fanout-${kind}`), eventsPerSecond, seconds);
        say(`  ${LOG_NAMES[kind]}: ${first}`);
        for (const line of rest) say(`  ${line}`);
      }
    }
    if (run('replay')) {
      const count = scaled(100_000);
      say(`\n== Replay of ${count.toLocaleString('en-US')} events through readLog, as a service's startup does ==`);
      for (const kind of LOG_KINDS)
        say(`  ${LOG_NAMES[kind]}: ${await benchReplay(kind, dir(`replay-${kind}`), count)}`);
    }
    if (run('chain') || run('sustained')) {
      for (const kind of LOG_KINDS) {
        await withSystem(kind, dir(`system-${kind}`), async (gateway, cpuNow) => {
          if (run('chain')) {
            say(`\n== Event chain at 100 comments/s for ${scaled(20)} s, ${LOG_NAMES[kind]} ==`);
            say(
              `  ${chainLine(await measureEventChain(gateway, { rate: 100, seconds: scaled(20), warmupSeconds: 3 }))}`,
            );
          }
          if (run('sustained')) {
            say(
              `\n== Sustained whole-chain rate, ${LOG_NAMES[kind]}: rising rates, ${scaled(10)} s each, kept while p99 (sent → verdict) < ${CHAIN_P99_MS} ms with nothing failed or lost ==`,
            );
            let best = 0;
            for (const rate of SUSTAINED_RATES) {
              // A warm-up at the same rate, then the CPU is counted over the measured run alone.
              await measureEventChain(gateway, { rate, seconds: 2, warmupSeconds: 0 }, 10);
              const before = cpuNow();
              const chain = await measureEventChain(gateway, { rate, seconds: scaled(10), warmupSeconds: 0 });
              say(`  ${rate}/s: ${chainLine(chain)}: ${kept(chain) ? 'kept up' : 'did NOT keep up'}`);
              say(`    ${cpuLine(before, cpuNow(), chain.cpuMs, chain.comments.sent)}`);
              if (!kept(chain)) break;
              best = rate;
            }
            say(`  highest rate kept: ${best}/s${kind === 'http' ? `; at least 500/s: ${verdict(best >= 500)}` : ''}`);
          }
        });
      }
    }
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

runBenchmarks(main);
