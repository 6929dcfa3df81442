import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '@mini-blog/launcher';
import type { Ledger } from './load';
import type { Verification } from './verify';

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

/** What the clients were told and what the view and the log hold: the figures every load scenario records. */
export function outcomeFigures(ledger: Ledger, result: Verification): Record<string, unknown> {
  return {
    requests: ledger.requests,
    acknowledged: ledger.acknowledged,
    answers: ledger.outcomeCounts(),
    found: result.found,
    missing: result.missing.length,
    duplicates: result.duplicates.length,
    logEvents: result.logEvents,
    logGaps: result.logGaps.length,
    storedWithoutAck: result.storedWithoutAck,
    answeredMayBeStored: ledger.saidMayBeStored,
    storedThoughRefused: result.storedThoughRefused.length,
  };
}
