import type { Percentiles } from '@mini-blog/blogctl';

/** Percentiles and the lines a benchmark prints. */

export interface Distribution {
  readonly count: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

/** Nearest-rank percentiles of a sample (milliseconds, say). */
export function distribution(samples: readonly number[]): Distribution {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number) =>
    sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
  return { count: sorted.length, p50: at(50), p90: at(90), p99: at(99), max: sorted[sorted.length - 1] ?? Number.NaN };
}

export const ms = (value: number): string =>
  Number.isNaN(value) ? 'n/a' : `${value < 10 ? value.toFixed(2) : value.toFixed(1)} ms`;
export const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
export const perSecond = (value: number): string => `${Math.round(value).toLocaleString('en-US')}/s`;

export function describe(d: Distribution): string {
  return `p50 ${ms(d.p50)}, p90 ${ms(d.p90)}, p99 ${ms(d.p99)}, max ${ms(d.max)} (n=${d.count})`;
}

/** The load generator's percentiles (null where it saw nothing). */
export function describeLoad(d: Percentiles): string {
  const show = (value: number | null) => (value === null ? 'n/a' : ms(value));
  return `p50 ${show(d.p50)}, p90 ${show(d.p90)}, p99 ${show(d.p99)}, max ${show(d.max)} (n=${d.count})`;
}

/** One line per check: what was measured against its target. */
export function verdict(met: boolean): string {
  return met ? 'meets the target' : 'MISSES the target';
}

export function say(line = ''): void {
  process.stdout.write(`${line}\n`);
}
