/** Latencies in milliseconds, summed up as the load generator prints and reports them. */
export interface Percentiles {
  readonly count: number;
  readonly p50: number | null;
  readonly p90: number | null;
  readonly p99: number | null;
  readonly max: number | null;
}

/** Nearest-rank percentiles (null for an empty sample: nothing to say, rather than a made-up 0). */
export function percentiles(samples: readonly number[]): Percentiles {
  const sorted = Float64Array.from(samples).sort();
  const at = (p: number) =>
    sorted.length === 0 ? null : round(sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!);
  return { count: sorted.length, p50: at(50), p90: at(90), p99: at(99), max: at(100) };
}

const round = (ms: number) => Math.round(ms * 100) / 100;
