import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '@mini-blog/launcher';

/** Where the last run's figures go (git-ignored); docs/reliability.md quotes them. */
export const FIGURES_DIR = path.join(REPO_ROOT, 'artifacts', 'reliability');

/**
 * Records the figures of one scenario: written to artifacts/reliability/<scenario>.json (one file
 * per scenario, so test files running in parallel never write the same file) and printed.
 */
export function recordFigures(scenario: string, figures: Record<string, unknown>): void {
  const record = { scenario, ranAt: new Date().toISOString(), ...figures };
  mkdirSync(FIGURES_DIR, { recursive: true });
  writeFileSync(path.join(FIGURES_DIR, `${scenario}.json`), `${JSON.stringify(record, null, 2)}\n`);
  process.stdout.write(`reliability figures: ${JSON.stringify(record)}\n`);
}
