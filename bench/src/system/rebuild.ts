import path from 'node:path';
import { SUBSCRIBER_NAMES } from '@mini-blog/common/registry';
import { freePort } from '@mini-blog/launcher';
import { publishLog, type BuiltLog, type LogShape } from './log-builder';
import { Backend, subscribersFor, type BackendName, type Memory } from './processes';

/** Every subscriber of the registry, rebuilt one at a time so that each has the bus to itself. */
export const REBUILT: readonly BackendName[] = SUBSCRIBER_NAMES;

export interface ServiceRebuild {
  /** From starting the process until it was caught up (and answered ready). */
  readonly readyMs: number;
  /** The replay alone, as the service measures it (without the process start). */
  readonly replayMs: number | undefined;
  /** Resident memory once ready. */
  readonly memory: Memory;
  /**
   * CPU time until ready, of the service and of the bus serving its pages: on a shared machine the
   * wall time also counts waiting for a core, and these do not.
   */
  readonly cpuMs: number;
  readonly busCpuMs: number;
}

export interface RebuildRun {
  readonly services: Readonly<Record<string, ServiceRebuild>>;
  /** Every process once all were ready, the bus included. */
  readonly after: Readonly<Record<string, Memory>>;
}

export interface RebuildResult {
  readonly log: BuiltLog;
  readonly runs: readonly RebuildRun[];
}

/**
 * Startup from a long log: each service started against a log of `shape` (published to the bus in
 * batches beforehand), timed until caught up, its memory read once ready. Done `runs` times with the
 * same log, so that growth from one run to the next would show.
 */
export async function benchRebuild(workDir: string, shape: LogShape, runs: number): Promise<RebuildResult> {
  const ports = new Map<BackendName, number>();
  for (const name of REBUILT) ports.set(name, await freePort());
  const bus = await Backend.create('event-bus', {
    DATA_DIR: path.join(workDir, 'rebuild-log'),
    SUBSCRIBERS: subscribersFor(REBUILT.map((name) => ({ name, port: ports.get(name)! }))),
  });
  const results: RebuildRun[] = [];
  let running: Backend[] = [];
  try {
    await bus.start();
    const log = await publishLog(bus.url, shape, REBUILT);
    for (let run = 0; run < runs; run += 1) {
      const services: Record<string, ServiceRebuild> = {};
      for (const name of REBUILT) {
        // A data folder of its own each run: every run builds its projection from seq 0.
        const dataDir = path.join(workDir, `rebuild-run-${run + 1}`, name);
        const service = await Backend.create(name, { BUS_URL: bus.url, DATA_DIR: dataDir }, ports.get(name));
        running.push(service);
        const busCpuBefore = bus.cpuMs;
        const readyMs = await service.start();
        services[name] = {
          readyMs,
          replayMs: service.replayMs,
          memory: service.memory,
          cpuMs: service.cpuMs,
          busCpuMs: bus.cpuMs - busCpuBefore,
        };
      }
      const after: Record<string, Memory> = { 'event-bus': bus.memory };
      for (const service of running) after[service.name] = service.memory;
      results.push({ services, after });
      await Promise.all(running.map((service) => service.stop()));
      running = [];
    }
    return { log, runs: results };
  } finally {
    await Promise.all(running.map((service) => service.stop()));
    await bus.stop();
  }
}
