import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { LoadReport } from '@mini-blog/blogctl';
import { SERVICE_NAMES } from '@mini-blog/common/registry';
import { startSystem } from '@mini-blog/launcher';
import { measureEventChain } from './event-chain-latency';
import { cpuMsOf } from './processes';

/** A run keeps up when nothing failed or went missing and p99 from sending a comment to its verdict on the live stream stays under this. */
export const CHAIN_P99_MS = 100;

export type Tracing = 'off' | 'on';

export interface SustainedStep {
  readonly rate: number;
  readonly report: LoadReport;
  readonly kept: boolean;
  /**
   * The system's CPU time per comment sent (every service, the bus or the NATS nodes; not the
   * generator or the bench's own process): what decides the rate a machine of its own would keep.
   */
  readonly cpuMsPerComment: number;
}

export interface SustainedRun {
  readonly transport: 'http' | 'jetstream';
  readonly tracing: Tracing;
  readonly steps: readonly SustainedStep[];
  /** The highest rate kept up with (0 when not even the first). */
  readonly best: number;
}

export const keptUp = ({ comments }: LoadReport): boolean =>
  comments.failed + comments.unanswered === 0 &&
  comments.missing === 0 &&
  (comments.shown.p99 ?? Infinity) < CHAIN_P99_MS;

/**
 * The sustained whole-chain rate of one system, tracing on (every service's default: spans kept in
 * memory for the trace view) or off (`OTEL_SDK_DISABLED=true`: nothing patched, no span made): the
 * rates climbed in order, each after a short warm-up, until one is not kept up with.
 */
export async function sustainedRate(
  dir: string,
  transport: 'http' | 'jetstream',
  tracing: Tracing,
  rates: readonly number[],
  seconds: number,
): Promise<SustainedRun> {
  mkdirSync(dir, { recursive: true });
  const off = { OTEL_SDK_DISABLED: 'true' };
  const system = await startSystem({
    port: 0,
    dataDir: dir,
    log: () => undefined,
    transport: transport === 'http' ? { transport: 'http' } : { transport: 'jetstream', natsNodes: 1 },
    ...(tracing === 'off' ? { env: Object.fromEntries(SERVICE_NAMES.map((name) => [name, off])) } : {}),
  });
  const steps: SustainedStep[] = [];
  const processes = [...Object.values(system.services), ...(system.nats?.nodes ?? [])];
  const cpuNow = () => processes.reduce((sum, child) => sum + cpuMsOf(child.pid), 0);
  try {
    const gateway = system.url.replace('localhost', '127.0.0.1');
    for (const rate of rates) {
      await measureEventChain(gateway, { rate, seconds: 2, warmupSeconds: 0 }, 10);
      const before = cpuNow();
      const report = await measureEventChain(gateway, { rate, seconds, warmupSeconds: 0 });
      const cpuMsPerComment = (cpuNow() - before) / Math.max(1, report.comments.sent);
      steps.push({ rate, report, kept: keptUp(report), cpuMsPerComment });
      if (!keptUp(report)) break;
    }
  } finally {
    await system.stop();
  }
  const best = steps.filter((step) => step.kept).at(-1)?.rate ?? 0;
  return { transport, tracing, steps, best };
}

/** The runs of one transport, tracing off then on then off then on: the same run, alternating, so that a busier minute of the machine does not fall on one side only. */
export async function tracingOverhead(
  workDir: string,
  transport: 'http' | 'jetstream',
  rates: readonly number[],
  seconds: number,
  rounds: number,
): Promise<SustainedRun[]> {
  const runs: SustainedRun[] = [];
  for (let round = 0; round < rounds; round += 1)
    for (const tracing of ['off', 'on'] as const)
      runs.push(
        await sustainedRate(
          path.join(workDir, `tracing-${transport}-${tracing}-${round}`),
          transport,
          tracing,
          rates,
          seconds,
        ),
      );
  return runs;
}
