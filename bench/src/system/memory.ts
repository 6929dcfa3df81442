import { mb } from './report';
import { memoryOf, type Memory } from './processes';

/** Resident memory of each named process right now. */
export function snapshot(pids: Readonly<Record<string, number | undefined>>): Record<string, Memory> {
  return Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, memoryOf(pid)]));
}

/**
 * RSS per process after each of several identical runs, and the change from the first to the last:
 * state that only grows with the data would grow by a known small amount; a leak grows run by run.
 */
export function growthTable(runs: readonly Readonly<Record<string, Memory>>[]): string[] {
  const names = Object.keys(runs[0] ?? {});
  return names.map((name) => {
    const values = runs.map((run) => run[name]?.rss ?? Number.NaN);
    const change = values[values.length - 1]! - values[0]!;
    return `  ${name.padEnd(11)} ${values.map(mb).join(' → ')}  (${change >= 0 ? '+' : ''}${(change / 1024 / 1024).toFixed(1)} MB)`;
  });
}
