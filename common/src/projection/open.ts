import { existsSync, renameSync, rmSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import type { Logger } from 'pino';
import { ConfigError } from '../service/config-error';
import { FORMAT, readMeta, tablesOf, type FileMeta } from './store';

/** Why a file is not opened as it is, but moved aside and rebuilt from the log. */
export type SetAsideReason =
  'corrupt' | 'newer-format' | 'newer-schema' | 'newer-version' | 'older-version' | 'foreign';

export interface SetAside {
  readonly reason: SetAsideReason;
  /** What was found, for the log line. */
  readonly detail: string;
}

export interface Expected {
  readonly service: string;
  readonly version: number;
  readonly steps: number;
}

/** SQLite's files beside a database in WAL mode: moved and removed with it. */
const SIDECARS = ['-wal', '-shm'] as const;

/**
 * Whether an existing file can be opened as this service's projection at this code's version, and
 * if not, why. A file of another service is a configuration error (two services given one folder),
 * not something to move: it throws.
 */
export function inspectFile(file: string, expected: Expected, { quickCheck = true } = {}): SetAside | undefined {
  let db: Database.Database | undefined;
  let meta: FileMeta;
  let tables: string[];
  try {
    db = new Database(file, { fileMustExist: true });
    if (quickCheck) {
      const check = db.pragma('quick_check', { simple: true });
      if (check !== 'ok') return { reason: 'corrupt', detail: `quick_check: ${String(check)}` };
    }
    meta = readMeta(db);
    tables = tablesOf(db);
  } catch (err) {
    return { reason: 'corrupt', detail: err instanceof Error ? err.message : String(err) };
  } finally {
    db?.close();
  }
  if (meta.service === undefined)
    return tables.length === 0 ? undefined : { reason: 'foreign', detail: `tables ${tables.join(', ')} and no meta` };
  if (meta.service !== expected.service)
    throw new ConfigError(
      `projection ${file}: belongs to the service ${meta.service}, not ${expected.service}: give each service its own DATA_DIR`,
    );
  if ((meta.format ?? 0) > FORMAT)
    return { reason: 'newer-format', detail: `the mechanism's format ${meta.format}, this code knows ${FORMAT}` };
  if ((meta.step ?? 0) > expected.steps)
    return { reason: 'newer-schema', detail: `schema step ${meta.step}, this code has ${expected.steps}` };
  if ((meta.version ?? 0) > expected.version)
    return {
      reason: 'newer-version',
      detail: `projection version ${meta.version}, this code is at ${expected.version}`,
    };
  if ((meta.version ?? 0) < expected.version)
    return {
      reason: 'older-version',
      detail: `projection version ${meta.version}, this code is at ${expected.version}`,
    };
  return undefined;
}

/** A name beside `file` for a copy set aside: the reason and the time, so that several never collide. */
export function asideName(file: string, reason: string, now = new Date()): string {
  return `${file}.${reason}-${now.toISOString().replace(/[:.]/g, '-')}`;
}

/** Renames a database and its WAL files together (a WAL holds committed pages of its database). */
export function moveDatabase(from: string, to: string): void {
  for (const suffix of SIDECARS) if (existsSync(from + suffix)) renameSync(from + suffix, to + suffix);
  renameSync(from, to);
}

/** Removes a database and its WAL files. */
export function removeDatabase(file: string): void {
  for (const suffix of ['', ...SIDECARS]) rmSync(file + suffix, { force: true });
}

/**
 * Checks the file at `file` before it is opened: one that is not SQLite, fails SQLite's quick check
 * (unless `quickCheck` is false: a large file is checked in the background, `checkInBackground`), was written
 * by newer code (the mechanism's format, the schema step or the projection version) or by an older
 * projection version is moved aside, kept for inspection, with a log line that says why; the
 * service then starts a new file and builds it from the log. Returns where it went, if moved.
 */
export function setAsideIfUnusable(
  file: string,
  expected: Expected,
  logger: Logger,
  { quickCheck = true } = {},
): string | undefined {
  if (!existsSync(file)) return undefined;
  const problem = inspectFile(file, expected, { quickCheck });
  if (!problem) return undefined;
  const aside = asideName(file, problem.reason);
  moveDatabase(file, aside);
  logger.warn(
    { file, movedTo: aside, reason: problem.reason, detail: problem.detail },
    `projection file moved aside (${problem.reason}: ${problem.detail}); rebuilding it from the log`,
  );
  return aside;
}

/**
 * Runs SQLite's quick check of a file in a worker thread, on a read-only connection of its own (WAL
 * lets it read while the service writes): it takes about 5 ms a megabyte, which a large file must
 * not add to every start. Resolves with `ok` or what the check found.
 */
export function checkInBackground(file: string): Promise<string> {
  const source = `
    const { parentPort, workerData } = require('node:worker_threads');
    const Database = require(workerData.module);
    const db = new Database(workerData.file, { readonly: true, fileMustExist: true });
    try { parentPort.postMessage(String(db.pragma('quick_check', { simple: true }))); } finally { db.close(); }
  `;
  return new Promise((resolve) => {
    const worker = new Worker(source, { eval: true, workerData: { file, module: require.resolve('better-sqlite3') } });
    worker.once('message', (result: string) => resolve(result));
    worker.once('error', (err) => resolve(err.message));
    worker.once('exit', (code) => resolve(`the check stopped (exit ${code})`));
  });
}
