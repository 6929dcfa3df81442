import { mb, ms, perSecond, say, verdict } from './report';
import { benchRestart, RESTARTED, type Ready, type RestartOptions, type SizeResult } from './restart';

/** The median of the restarts' ready times and resident memories (three by default: one slow start on a shared machine is noise). */
function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

const readyOf = (restarts: readonly Ready[]) => median(restarts.map((ready) => ready.readyMs));
const rssOf = (restarts: readonly Ready[]) => median(restarts.map((ready) => ready.memory.rss));

/** Targets of a restart at the largest size against the same service on an empty log, in the same run. */
const READY_LIMIT_MS = 1000;
const READY_RATIO = 1.5;
const RSS_RATIO = 1.3;
/** Query's rebuild from seq 0. */
const REBUILD_TARGET = 150_000;

/** One size's lines: each service's build from seq 0 and its restarts. */
function sayResult({ log, services }: SizeResult): void {
  say(`  ${log.events.toLocaleString('en-US')} events${log.events > 0 ? ` (log written in ${ms(log.ms)})` : ''}:`);
  for (const name of RESTARTED) {
    const { build, restarts } = services[name]!;
    const rate = build.replayMs ? (log.events / build.replayMs) * 1000 : Number.NaN;
    say(
      `    ${name.padEnd(10)} built from seq 0 in ${ms(build.readyMs)} (catch-up ${build.replayMs === undefined ? 'n/a' : ms(build.replayMs)}, ${perSecond(rate)} of the log, CPU ${ms(build.cpuMs)}, RSS ${mb(build.memory.rss)}); ` +
        `after kill -9 ready in ${restarts.map((ready) => ms(ready.readyMs)).join(', ')}, RSS ${restarts.map((ready) => mb(ready.memory.rss)).join(', ')}`,
    );
  }
}

/**
 * Runs the restart benchmark and prints it: each size as soon as it is measured (a failure at a
 * large size keeps the smaller ones), then each service's ratios to the empty log.
 */
export async function reportRestart(workDir: string, options: RestartOptions): Promise<SizeResult[]> {
  const results: SizeResult[] = [];
  for (const shape of options.shapes) {
    const [result] = await benchRestart(workDir, { ...options, shapes: [shape] });
    sayResult(result!);
    results.push(result!);
  }
  const empty = results.find((size) => size.log.events === 0);
  for (const size of empty ? results.filter((result) => result.log.events > 0) : []) {
    say(`  at ${size.log.events.toLocaleString('en-US')} events against the empty log (medians):`);
    for (const name of RESTARTED) {
      const before = empty!.services[name]!.restarts;
      const after = size.services[name]!.restarts;
      const readyRatio = readyOf(after) / readyOf(before);
      const rssRatio = rssOf(after) / rssOf(before);
      say(
        `    ${name.padEnd(10)} ready ${ms(readyOf(after))} vs ${ms(readyOf(before))} (×${readyRatio.toFixed(2)}), RSS ${mb(rssOf(after))} vs ${mb(rssOf(before))} (×${rssRatio.toFixed(2)}); ` +
          `target < 1 s and ≤ ×${READY_RATIO}, RSS ≤ ×${RSS_RATIO}: ${verdict(readyOf(after) < READY_LIMIT_MS && readyRatio <= READY_RATIO && rssRatio <= RSS_RATIO)}`,
      );
    }
    const query = size.services.query!.build;
    const rate = query.replayMs ? (size.log.events / query.replayMs) * 1000 : Number.NaN;
    // The same events over the CPU time of the catch-up (query's build less its build on the empty log,
    // which is the process's start): what a core of its own would give.
    const perCpuSecond = (size.log.events / (query.cpuMs - empty!.services.query!.build.cpuMs)) * 1000;
    say(
      `    query's rebuild from seq 0: ${perSecond(rate)} (${perSecond(perCpuSecond)} of its CPU time); target ≥ ${perSecond(REBUILD_TARGET)}: ${verdict(rate >= REBUILD_TARGET)}`,
    );
  }
  return results;
}
