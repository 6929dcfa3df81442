import { closeSync, fdatasyncSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { cpus } from 'node:os';
import path from 'node:path';
import { benchmarkRun, runBenchmarks, scale, scaled } from '../cli';
import { fanOut } from './fan-out';
import { batchJson, eventJson, postLoad, type LoadResult } from './load';
import { natsPublishRate } from './nats-reference';
import {
  BUS_SCRIPT,
  forkHelper,
  memoryOf,
  startBus,
  startNats,
  stopChild,
  writeCredentials,
  type BenchBus,
  type BenchCredentials,
} from './processes';
import { fillLog, pagedReplay, streamedReplay } from './replay';

/**
 * The event bus benchmarks (docs/benchmarks.md, "Event bus"), each beside its reference in the
 * same run. Pick some with arguments (`publish batch fanout replay`); all run by default.
 * BENCH_SCALE=0.2 shortens every duration and size for a quick check. BUS_BASELINE_SCRIPT (another
 * build's `event-bus/dist/index.js`) adds that build to the single-publish rounds, for a before and
 * after in one run.
 */
const ALL = ['publish', 'batch', 'fanout', 'replay'] as const;

const rate = (value: number) => `${Math.round(value).toLocaleString('en-US')}/s`;
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
const say = (line = '') => process.stdout.write(`${line}\n`);
const verdict = (met: boolean) => (met ? 'meets the target' : 'MISSES the target');
/** Enough batch requests in flight that each commit carries several of them. */
const BATCH_CONNECTIONS = 32;

/**
 * The kernel's CPU pressure (PSI "some": the share of time runnable tasks waited for a CPU) over a
 * benchmark: on a shared machine it tells a quiet run from a crowded one.
 */
function cpuPressure(): { describe(): string } {
  const read = () => {
    try {
      return Number(/total=(\d+)/.exec(readFileSync('/proc/pressure/cpu', 'utf8'))?.[1]);
    } catch {
      return Number.NaN;
    }
  };
  const startTotal = read();
  const started = performance.now();
  return {
    describe: () => {
      const share = (read() - startTotal) / 1000 / (performance.now() - started);
      return Number.isNaN(share) ? '' : `[CPU pressure ${(share * 100).toFixed(0)}%]`;
    },
  };
}

function checkLoad(name: string, result: LoadResult): void {
  if (result.failures > 0) throw new Error(`${name}: ${result.failures} requests failed; the measurement is not valid`);
}

async function benchPublish(workDir: string, credentials: BenchCredentials): Promise<void> {
  const seconds = scaled(10);
  const pressure = cpuPressure();
  const baselineScript = process.env.BUS_BASELINE_SCRIPT;
  const express = await forkHelper<{ port: number }>('bare-express-server.js');
  const buses: BenchBus[] = [];
  try {
    const bus = await startBus(path.join(workDir, 'publish'), credentials);
    buses.push(bus);
    const headers = credentials.authorization('posts');
    const targets = [
      { name: 'bare Express 5 JSON POST', url: `http://127.0.0.1:${express.first.port}/events` },
      { name: `bus, durable publish (${BUS_SCRIPT})`, url: `${bus.url}/events` },
    ];
    if (baselineScript) {
      const baseline = await startBus(path.join(workDir, 'publish-baseline'), credentials, {}, baselineScript);
      buses.push(baseline);
      targets.push({ name: `bus, durable publish, baseline (${baselineScript})`, url: `${baseline.url}/events` });
    }
    for (const target of targets)
      await postLoad({
        url: target.url,
        seconds: 2,
        connections: 50,
        headers,
        body: (n) => eventJson(`warm-${target.name.length}`, n),
      });
    // Rounds alternating between the targets, so that none gets the quieter moment of the machine.
    const totals = targets.map(() => ({ requests: 0, seconds: 0, p99: 0 }));
    const rounds = baselineScript ? 3 : 2;
    for (let round = 0; round < rounds; round += 1) {
      for (const [index, target] of targets.entries()) {
        const result = await postLoad({
          url: target.url,
          seconds,
          connections: 50,
          headers,
          body: (n) => eventJson(`publish-${round}`, n),
        });
        checkLoad(target.name, result);
        totals[index]!.requests += result.requests;
        totals[index]!.seconds += result.requests / result.requestsPerSecond;
        totals[index]!.p99 = Math.max(totals[index]!.p99, result.p99);
      }
    }
    const rates = totals.map((total) => total.requests / total.seconds);
    const [reference, ours, baseline] = rates as [number, number, number | undefined];
    say(`\n== Single-event publish, 50 connections, ${rounds} rounds of ${seconds} s each ${pressure.describe()} ==`);
    for (const [index, target] of targets.entries())
      say(`  ${target.name}: ${rate(rates[index]!)} (p99 ${totals[index]!.p99} ms)`);
    say(
      `  ratio to bare Express ${((ours / reference) * 100).toFixed(0)}% (target at least 70%): ${verdict(ours >= 0.7 * reference)}`,
    );
    if (baseline !== undefined) {
      say(
        `  ratio to the baseline build ${((ours / baseline) * 100).toFixed(1)}% (target at least 90%): ${verdict(ours >= 0.9 * baseline)}`,
      );
    }
  } finally {
    for (const bus of buses) await bus.stop();
    await stopChild(express.child);
  }
}

async function benchBatch(workDir: string, credentials: BenchCredentials): Promise<void> {
  const seconds = scaled(10);
  const size = 100;
  const pressure = cpuPressure();
  const nats = await startNats(path.join(workDir, 'nats'));
  let natsRate: number;
  try {
    natsRate = (await natsPublishRate(nats.url, seconds, 50)).perSecond;
  } finally {
    await stopChild(nats.child);
  }
  const bus = await startBus(path.join(workDir, 'batch'), credentials);
  const headers = credentials.authorization('posts');
  let busRate: number;
  let result: LoadResult;
  try {
    await postLoad({
      url: `${bus.url}/events`,
      seconds: 2,
      connections: BATCH_CONNECTIONS,
      headers,
      body: (n) => batchJson('warm', n, size),
    });
    result = await postLoad({
      url: `${bus.url}/events`,
      seconds,
      connections: BATCH_CONNECTIONS,
      headers,
      body: (n) => batchJson('batch', n, size),
    });
    checkLoad('batch publish', result);
    busRate = result.requestsPerSecond * size;
  } finally {
    await bus.stop();
  }
  say(
    `\n== Batch publish, ${size} events per request, ${BATCH_CONNECTIONS} connections, ${seconds} s ${pressure.describe()} ==`,
  );
  say(`  NATS JetStream (nats-server -js, file storage), 50 publishes in flight with msgID: ${rate(natsRate)}`);
  say(`  bus: ${rate(busRate)} events (${rate(result.requestsPerSecond)} requests, p99 ${result.p99} ms)`);
  say(
    `  at least 100,000/s: ${verdict(busRate >= 100_000)}; at least twice NATS (${(busRate / natsRate).toFixed(1)}x): ${verdict(busRate >= 2 * natsRate)}`,
  );
}

async function benchFanOut(workDir: string, credentials: BenchCredentials): Promise<void> {
  const runs = [
    {
      label: 'batch subscribers (as the services are configured)',
      options: 'batch',
      rate: 5000,
      seconds: scaled(30),
      target: true,
    },
    {
      label: 'course-style subscribers (one event per request)',
      options: '',
      rate: 500,
      seconds: scaled(10),
      target: false,
    },
  ];
  for (const { label, options, rate: eventsPerSecond, seconds, target } of runs) {
    const perRequest = 10;
    const pressure = cpuPressure();
    const result = await fanOut({
      dataDir: path.join(workDir, `fanout-${options || 'single'}`),
      credentials,
      subscribers: 4,
      rate: eventsPerSecond,
      perRequest,
      seconds,
      options,
    });
    if (result.load.failures > 0)
      throw new Error(`fan-out publish: ${result.load.failures} requests failed; the measurement is not valid`);
    const maxLag = Math.max(...result.subscribers.map((own) => own.maxLagMs));
    const allInOrder = result.subscribers.every((own) => own.inOrder);
    say(
      `\n== Fan-out to 4 ${label}, ${eventsPerSecond.toLocaleString('en-US')} events/s (${perRequest} per request) for ${seconds} s ${pressure.describe()} ==`,
    );
    say(
      `  published ${result.head.toLocaleString('en-US')} at ${rate(result.load.perSecond * perRequest)} (answered within p99 ${Math.round(result.load.p99Ms)} ms, max ${Math.round(result.load.maxMs)} ms of being due); ` +
        `drained ${Math.round(result.drainMs)} ms after the last answer`,
    );
    for (const [index, own] of result.subscribers.entries()) {
      say(
        `  s${index}: ${own.received.toLocaleString('en-US')} received, ${own.inOrder ? 'all, in order' : 'NOT all in order'}, ${own.duplicates} re-deliveries, lag p50 ${own.p50LagMs} ms, p99 ${own.p99LagMs} ms, max ${own.maxLagMs} ms`,
      );
    }
    const met = allInOrder && maxLag < 1000;
    say(
      target
        ? `  every event in order and max lag under 1 s: ${verdict(met)}`
        : `  (for information) ${met ? 'kept up' : 'fell behind'}`,
    );
  }
}

async function benchReplay(workDir: string, credentials: BenchCredentials): Promise<void> {
  const count = scaled(1_000_000);
  const bus = await startBus(path.join(workDir, 'replay'), credentials);
  const reader = credentials.authorization('admin');
  try {
    const filling = performance.now();
    await fillLog(bus.url, credentials.authorization('posts'), count);
    const pressure = cpuPressure();
    say(
      `\n== Replay of ${count.toLocaleString('en-US')} events (filled in ${((performance.now() - filling) / 1000).toFixed(1)} s) ==`,
    );
    for (const limit of [1000, 10_000]) {
      const paged = await pagedReplay(bus.url, reader, limit);
      say(
        `  paged, limit ${limit.toLocaleString('en-US')}: ${rate(paged.perSecond)} (${paged.seconds.toFixed(2)} s)${limit === 10_000 ? `, at least 200,000/s: ${verdict(paged.perSecond >= 200_000)}` : ''}`,
      );
    }
    const before = memoryOf(bus.pid);
    const streamed = await streamedReplay(bus.url, reader);
    const after = memoryOf(bus.pid);
    say(
      `  GET /events as one array: ${rate(streamed.perSecond)} (${streamed.seconds.toFixed(2)} s); bus resident memory ${mb(before.rss)} before, ${mb(after.rss)} after, peak ${mb(after.peak)}`,
    );
    say(`  ${pressure.describe()}`);
  } finally {
    await bus.stop();
  }
}

/** How long the disk takes to make a small write durable: what every commit waits for. */
function syncLatency(dir: string): string {
  const fd = openSync(path.join(dir, 'sync-probe'), 'w');
  const page = Buffer.alloc(4096, 1);
  const samples: number[] = [];
  for (let n = 0; n < 50; n += 1) {
    writeSync(fd, page, 0, page.length, 0);
    const started = performance.now();
    fdatasyncSync(fd);
    samples.push(performance.now() - started);
  }
  closeSync(fd);
  samples.sort((a, b) => a - b);
  return `fdatasync of a 4 kB write: p50 ${samples[25]!.toFixed(2)} ms, p90 ${samples[45]!.toFixed(2)} ms`;
}

async function main(): Promise<void> {
  const { run, workDir } = benchmarkRun(ALL, 'bus-bench');
  say(
    `Event bus benchmarks: Node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), scale ${scale}; work folder ${workDir}`,
  );
  say(`Disk: ${syncLatency(workDir)}${process.env.BUS_SCRIPT ? `; bus: ${process.env.BUS_SCRIPT}` : ''}`);
  const credentials = writeCredentials(workDir);
  try {
    if (run('publish')) await benchPublish(workDir, credentials);
    if (run('batch')) await benchBatch(workDir, credentials);
    if (run('fanout')) await benchFanOut(workDir, credentials);
    if (run('replay')) await benchReplay(workDir, credentials);
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

runBenchmarks(main);
