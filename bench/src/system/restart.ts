import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { SUBSCRIBER_NAMES } from '@mini-blog/common/registry';
import { freePort } from '@mini-blog/launcher';
import { publishLog, zeroCounts, type BuiltLog, type LogShape } from './log-builder';
import { Backend, subscribersFor, type BackendName, type Memory } from './processes';

/** The services measured, one at a time, so that each has the bus (and the two cores) to itself. */
export const RESTARTED: readonly BackendName[] = SUBSCRIBER_NAMES;

export interface Ready {
  /** From spawning the process until it was caught up and answered ready. */
  readonly readyMs: number;
  /** The catch-up alone, as the service logs it (from where its projection was to the log's head). */
  readonly replayMs: number | undefined;
  /** Resident memory once ready. */
  readonly memory: Memory;
  /** CPU time of the service until ready. */
  readonly cpuMs: number;
}

export interface ServiceRestarts {
  /** The first start, on no projection: every event from seq 0 (a rebuild). */
  readonly build: Ready;
  /** Each start after a kill -9 of the process once it was ready. */
  readonly restarts: readonly Ready[];
}

export interface SizeResult {
  readonly shape: LogShape;
  readonly log: BuiltLog;
  readonly services: Readonly<Record<string, ServiceRestarts>>;
}

export interface RestartOptions {
  readonly shapes: readonly LogShape[];
  /** Kills and starts per service and size. */
  readonly restarts: number;
  /** When set, each first build runs under `node --cpu-prof` and is stopped gracefully (so the profile is written) instead of killed. */
  readonly cpuProfileDir?: string;
}

const EMPTY_LOG: BuiltLog = {
  events: 0,
  ms: 0,
  countsByType: zeroCounts(),
};

async function readyOf(service: Backend, timeoutMs?: number): Promise<Ready> {
  const readyMs = await service.start(timeoutMs);
  return { readyMs, replayMs: service.replayMs, memory: service.memory, cpuMs: service.cpuMs };
}

/**
 * Restart after a crash, by the size of the history: for each log size, a bus holding that log
 * (published in batches, the cursors put at its head), then each service started on an empty data
 * folder and left to build its projection from seq 0; then killed with SIGKILL and started again,
 * `restarts` times, each timed until ready, its memory read once ready. A service that keeps its
 * state in a projection reads only the tail after its checkpoint (here none), so its ready time
 * and memory should not grow with the log; one that replays the log grows with it.
 */
export async function benchRestart(workDir: string, options: RestartOptions): Promise<SizeResult[]> {
  const results: SizeResult[] = [];
  for (const shape of options.shapes) {
    const folder = path.join(workDir, `restart-${shape.posts}-${shape.comments}`);
    const ports = new Map<BackendName, number>();
    for (const name of RESTARTED) ports.set(name, await freePort());
    const bus = await Backend.create('event-bus', {
      DATA_DIR: path.join(folder, 'log'),
      SUBSCRIBERS: subscribersFor(RESTARTED.map((name) => ({ name, port: ports.get(name)! }))),
    });
    let running: Backend | undefined;
    try {
      await bus.start();
      const log = shape.posts === 0 ? EMPTY_LOG : await publishLog(bus.url, shape, RESTARTED);
      const services: Record<string, ServiceRestarts> = {};
      for (const name of RESTARTED) {
        const dataDir = path.join(folder, name);
        mkdirSync(dataDir, { recursive: true });
        const env = { BUS_URL: bus.url, DATA_DIR: dataDir };
        const profile = options.cpuProfileDir
          ? [
              '--cpu-prof',
              `--cpu-prof-dir=${options.cpuProfileDir}`,
              `--cpu-prof-name=${name}-${log.events}.cpuprofile`,
            ]
          : [];
        running = await Backend.create(name, env, ports.get(name), profile);
        // A build reads the whole log: two minutes, and a millisecond for every 5 events (a loaded machine builds at 10,000/s).
        const build = await readyOf(running, 120_000 + log.events / 5);
        if (options.cpuProfileDir) await running.stop();
        else await running.kill();
        running = await Backend.create(name, env, ports.get(name));
        const restarts: Ready[] = [];
        for (let restart = 0; restart < options.restarts; restart += 1) {
          restarts.push(await readyOf(running));
          await running.kill();
        }
        running = undefined;
        services[name] = { build, restarts };
      }
      results.push({ shape, log, services });
    } finally {
      await running?.stop();
      await bus.stop();
    }
  }
  return results;
}
