import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startSystem, type RunningSystem, type SystemOptions } from './system';

export interface TemporarySystem {
  readonly system: RunningSystem;
  /** The run's data folder: the log, and the credentials under `credentials/`. */
  readonly dataDir: string;
  /** Stops every process and removes the data folder. */
  stop(): Promise<void>;
}

/**
 * The whole system on free ports with a data folder of its own, for a test: if it does not start,
 * the error carries the services' last log lines, and nothing is left behind.
 */
export async function startTemporarySystem(
  prefix: string,
  options: Omit<SystemOptions, 'dataDir' | 'port' | 'log'> = {},
): Promise<TemporarySystem> {
  const dataDir = mkdtempSync(path.join(tmpdir(), prefix));
  const logs: string[] = [];
  let system: RunningSystem;
  try {
    system = await startSystem({
      ...options,
      port: 0,
      dataDir,
      log: (service, line) => logs.push(`${service} | ${line}`),
    });
  } catch (err) {
    rmSync(dataDir, { recursive: true, force: true });
    throw new Error(`${(err as Error).message}\n--- service logs ---\n${logs.slice(-100).join('\n')}`);
  }
  return {
    system,
    dataDir,
    stop: async () => {
      await system.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
