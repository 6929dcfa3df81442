import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** What every benchmark program shares: its scale, the benchmarks its arguments choose, how it fails. */

/** BENCH_SCALE: every size and duration times this (0.1 for a quick check). */
export const scale = Number(process.env.BENCH_SCALE ?? 1);
export const scaled = (value: number) => Math.max(1, Math.round(value * scale));

/**
 * The benchmarks the command line names (all of them when it names none), and a fresh work folder
 * (`mini-blog-<name>-…` in the system's temporary folder). An unknown name stops the program.
 */
export function benchmarkRun<N extends string>(
  all: readonly N[],
  folder: string,
): { run: (name: N) => boolean; workDir: string } {
  const chosen = process.argv.slice(2);
  const unknown = chosen.filter((name) => !(all as readonly string[]).includes(name));
  if (unknown.length > 0) throw new Error(`unknown benchmark ${unknown.join(', ')}: choose from ${all.join(', ')}`);
  return {
    run: (name) => chosen.length === 0 || chosen.includes(name),
    workDir: mkdtempSync(path.join(tmpdir(), `mini-blog-${folder}-`)),
  };
}

/** A failure as the benchmark programs print it: the stack when there is one. */
export const describeFailure = (err: unknown): string =>
  err instanceof Error ? (err.stack ?? err.message) : String(err);

/** Runs a benchmark program's main; a failure is printed and exits 1. */
export function runBenchmarks(main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    process.stderr.write(`${describeFailure(err)}\n`);
    process.exit(1);
  });
}
