import { fork, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { SUBSCRIBER_NAMES } from '@mini-blog/common/registry';
import { callJson } from './http';
import { load } from './load';
import { authorization, Backend, memoryOf, nextMessage } from './processes';

type Counts = Record<string, { distinct: number; received: number }>;

export interface BusRun {
  /** Publishes acknowledged per second under closed-loop load. */
  readonly publishPerSecond: number;
  readonly publishP99: number;
  readonly published: number;
  /** Every subscriber had every acknowledged event this long after the load stopped (undefined: not within the wait). */
  readonly allDeliveredAfterMs: number | undefined;
  /** Acknowledged events that some subscriber never got, summed over subscribers, under load alone. */
  readonly lostUnderLoad: number;
  /** With one subscriber down for part of a steady publish: what it never got. */
  readonly outage: {
    readonly published: number;
    readonly downMs: number;
    readonly lost: number;
    readonly caughtUpAfterMs: number | undefined;
  };
  readonly rss: number;
}

export interface ComparisonResult {
  readonly course: BusRun;
  readonly ours: BusRun;
}

export interface ComparisonOptions {
  readonly loadSeconds: number;
  readonly connections: number;
  readonly outageRate: number;
  readonly outageSeconds: number;
  /** Which part of the steady publish the subscriber misses, in seconds from its start. */
  readonly downFrom: number;
  readonly downUntil: number;
  /** How long deliveries may stay quiet (a retry's backoff) before waiting for them ends. */
  readonly settleMs: number;
}

class Sinks {
  private constructor(
    private readonly child: ChildProcess,
    readonly ports: Readonly<Record<string, number>>,
  ) {}

  static async start(): Promise<Sinks> {
    const child = fork(path.join(__dirname, 'sinks.js'), [...SUBSCRIBER_NAMES], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const ports = await nextMessage<Record<string, number>>(child);
    return new Sinks(child, ports);
  }

  async command<T>(command: object): Promise<T> {
    const answer = nextMessage<T>(this.child);
    this.child.send(command);
    return answer;
  }

  counts(): Promise<Counts> {
    return this.command<Counts>({ cmd: 'counts' });
  }

  urls(): string[] {
    return SUBSCRIBER_NAMES.map((name) => `http://127.0.0.1:${this.ports[name]}/events`);
  }

  stop(): void {
    this.child.kill();
  }
}

/**
 * Polls until `check` says done (the time it took) or nothing has moved for `quietMs` (undefined):
 * a bus that retries may go quiet for a backoff, so it gets a long quiet time, one that does not
 * has delivered all it ever will a moment after the publishes.
 */
async function settle(
  check: () => Promise<{ done: boolean; progress: string }>,
  quietMs: number,
): Promise<number | undefined> {
  const started = performance.now();
  let last = '';
  let movedAt = started;
  for (;;) {
    const { done, progress } = await check();
    const now = performance.now();
    if (done) return now - started;
    if (progress !== last) {
      last = progress;
      movedAt = now;
    } else if (now - movedAt > quietMs) {
      return undefined;
    }
    await delay(20);
  }
}

/**
 * `retries` says whether the bus delivers again what a subscriber missed: without, what has not
 * arrived a moment after the publishes is lost for good, and waiting longer would show nothing.
 */
async function runBus(
  busUrl: string,
  pid: number | undefined,
  sinks: Sinks,
  options: ComparisonOptions,
  retries: boolean,
): Promise<BusRun> {
  await sinks.command({ cmd: 'reset' });
  // Closed loop: every connection publishes again as soon as the last one is acknowledged.
  const published = await load({
    url: `${busUrl}/events`,
    method: 'POST',
    seconds: options.loadSeconds,
    connections: options.connections,
    body: JSON.stringify({ type: 'PostCreated', data: { id: 'load', title: 'A post about load' } }),
    // The course's bus takes no token and ignores it.
    headers: authorization('posts'),
  });
  const acknowledged = published.total;
  const allDeliveredAfterMs = await settle(
    async () => {
      const counts = await sinks.counts();
      return {
        done: Object.values(counts).every((count) => count.received >= acknowledged),
        progress: JSON.stringify(counts),
      };
    },
    retries ? options.settleMs : 2000,
  );
  const settled = await sinks.counts();
  const lostUnderLoad = Object.values(settled).reduce(
    (sum, count) => sum + Math.max(0, acknowledged - count.received),
    0,
  );
  const rss = memoryOf(pid).rss;

  // A steady publish with distinct ids while the query subscriber is down for a while.
  await sinks.command({ cmd: 'reset' });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
  const total = Math.round(options.outageRate * options.outageSeconds);
  const started = performance.now();
  let downAt = 0;
  let upAt = 0;
  const sends: Promise<unknown>[] = [];
  for (let i = 0; i < total; i += 1) {
    const wait = started + (i * 1000) / options.outageRate - performance.now();
    if (wait > 0) await delay(wait);
    const elapsed = (performance.now() - started) / 1000;
    if (downAt === 0 && elapsed >= options.downFrom) {
      await sinks.command({ cmd: 'down', name: 'query' });
      downAt = performance.now();
    }
    if (downAt !== 0 && upAt === 0 && elapsed >= options.downUntil) {
      await sinks.command({ cmd: 'up', name: 'query' });
      upAt = performance.now();
    }
    sends.push(
      callJson(
        agent,
        'POST',
        `${busUrl}/events`,
        { type: 'PostCreated', data: { id: `outage-${i}`, title: `Post ${i}` } },
        30_000,
        authorization('posts'),
      ),
    );
  }
  if (upAt === 0) {
    await sinks.command({ cmd: 'up', name: 'query' });
    upAt = performance.now();
  }
  const answers = (await Promise.allSettled(sends)) as PromiseSettledResult<{ status: number }>[];
  agent.destroy();
  // Only what was acknowledged counts: the ids of refused publishes were never the bus's to deliver.
  const acknowledgedIds = answers.flatMap((answer, i) =>
    answer.status === 'fulfilled' && answer.value.status < 300 ? [i] : [],
  );
  const missingOf = async () =>
    (await sinks.command<{ missing: number }>({ cmd: 'missing', name: 'query', prefix: 'outage-', total })).missing;
  const waited = await settle(
    async () => {
      const missing = await missingOf();
      return { done: missing === total - acknowledgedIds.length, progress: String(missing) };
    },
    retries ? options.settleMs : 2000,
  );
  const caughtUpAfterMs = waited === undefined ? undefined : performance.now() - upAt;
  const missing = await missingOf();
  const outagePublished = acknowledgedIds.length;
  return {
    publishPerSecond: published.requestsPerSecond,
    publishP99: published.p99,
    published: acknowledged,
    allDeliveredAfterMs,
    lostUnderLoad,
    outage: {
      published: outagePublished,
      downMs: upAt - downAt,
      lost: missing - (total - outagePublished),
      caughtUpAfterMs,
    },
    rss,
  };
}

/**
 * The course's bus beside ours, same run, same four counting subscribers: closed-loop publish
 * throughput and delivery, then what a subscriber that is down for a few seconds never receives.
 */
export async function compareWithCourseBus(workDir: string, options: ComparisonOptions): Promise<ComparisonResult> {
  const sinks = await Sinks.start();
  let course: ChildProcess | undefined;
  let ours: Backend | undefined;
  try {
    course = fork(path.join(__dirname, 'course-bus.js'), [], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, SUBSCRIBERS: sinks.urls().join(',') },
    });
    const { port } = await nextMessage<{ port: number }>(course);
    const courseRun = await runBus(`http://127.0.0.1:${port}`, course.pid, sinks, options, false);
    course.kill();
    course = undefined;

    ours = await Backend.create('event-bus', {
      DATA_DIR: path.join(workDir, 'comparison-log'),
      SUBSCRIBERS: SUBSCRIBER_NAMES.map((name) => `${name}=http://127.0.0.1:${sinks.ports[name]}/events`).join(','),
      LOG_LEVEL: 'warn',
    });
    await ours.start();
    const oursRun = await runBus(ours.url, ours.process.pid, sinks, options, true);
    return { course: courseRun, ours: oursRun };
  } finally {
    course?.kill();
    await ours?.stop();
    sinks.stop();
  }
}
