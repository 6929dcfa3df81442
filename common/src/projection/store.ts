import Database from 'better-sqlite3';
import type { Envelope, NewEvent } from '../events';
import type { ProjectionDb } from './types';

/**
 * The mechanism's own tables, in every projection file beside the service's: what the file is
 * (`projection_meta`), how far into the log its state goes (`projection_checkpoint`), and the
 * reactions it decided on but has not seen published yet (`projection_outbox`). Prefixed, so that a
 * service's migrations may name their tables freely. `FORMAT` is the version of these three: a file
 * of a newer format was written by newer code, and is moved aside rather than misread.
 */
export const FORMAT = 1;
const MECHANISM_SCHEMA = `
  CREATE TABLE IF NOT EXISTS projection_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS projection_checkpoint (id INTEGER PRIMARY KEY CHECK (id = 1), position INTEGER NOT NULL);
  CREATE TABLE IF NOT EXISTS projection_outbox (id TEXT PRIMARY KEY, event TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS projection_probe (id INTEGER PRIMARY KEY CHECK (id = 1), filler BLOB NOT NULL);
`;

/** The mechanism's tables: every other table of a file is the service's. */
export const MECHANISM_TABLES: readonly string[] = [
  'projection_meta',
  'projection_checkpoint',
  'projection_outbox',
  'projection_probe',
];

/** What a file says about itself (`projection_meta`); numbers, or undefined where a row is missing. */
export interface FileMeta {
  readonly service: string | undefined;
  readonly format: number | undefined;
  readonly version: number | undefined;
  /** How many of the service's migrations have run on it. */
  readonly step: number | undefined;
}

/** Reads the meta rows of an open file; all undefined when it has no meta table (a new, empty file). */
export function readMeta(db: ProjectionDb): FileMeta {
  const hasMeta = db
    .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'projection_meta'")
    .pluck()
    .get();
  const rows = new Map<string, string>(
    hasMeta ? db.prepare<[], [string, string]>('SELECT key, value FROM projection_meta').raw().all() : [],
  );
  const numberOf = (key: string) => (rows.has(key) ? Number(rows.get(key)) : undefined);
  return {
    service: rows.get('service'),
    format: numberOf('format'),
    version: numberOf('version'),
    step: numberOf('step'),
  };
}

/** The names of the tables of an open file, SQLite's own left out, in name order. */
export function tablesOf(db: ProjectionDb): string[] {
  return db
    .prepare<[], string>(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
    )
    .pluck()
    .all();
}

/** Every row of every table, each table's rows sorted by all of its columns: two projections with the same state dump the same. */
export function dumpTables(db: ProjectionDb): Record<string, unknown[]> {
  const dump: Record<string, unknown[]> = {};
  for (const table of tablesOf(db)) {
    const columns = db.prepare(`SELECT * FROM "${table}" LIMIT 0`).columns().length;
    const order = Array.from({ length: columns }, (_, index) => index + 1).join(', ');
    dump[table] = db.prepare(`SELECT * FROM "${table}" ORDER BY ${order}`).all();
  }
  return dump;
}

export interface StoreOptions {
  /** A file path, or `:memory:`. */
  readonly file: string;
  readonly service: string;
  readonly version: number;
  readonly migrations: readonly string[];
}

/** Applies one event inside the store's transaction; returns its reactions. */
export type ApplyInTransaction = (event: Envelope) => readonly NewEvent[] | void;

/**
 * One open projection file: the connection, the mechanism's tables, and the one transaction that
 * applies a batch of events, moves the checkpoint and records their reactions. Knows nothing of the
 * log or the bus; `Projection` decides which file to open and when.
 */
export class ProjectionStore {
  readonly db: ProjectionDb;
  private checkpoint: number;
  private outboxSize: number;
  private readonly commitBatch: (events: readonly Envelope[], next: number, apply: ApplyInTransaction) => number;
  private readonly selectOutbox: Database.Statement<[number], { id: string; event: string }>;
  private readonly deleteOutbox: Database.Statement<[string]>;

  /**
   * Opens (creating when needed) the file, checks nothing (see `openProjectionFile`), writes the
   * mechanism's tables and the meta of a new file, and runs the service's migrations the file has
   * not had yet, each in a transaction with the step it reaches.
   *
   * WAL with `synchronous = NORMAL`: a commit reaches the WAL file before it returns but is synced to
   * the disk only at checkpoints, so a power cut may lose the last commits (never corrupt the file;
   * a killed process loses nothing). That is right here because the log, not this file, is the
   * truth: the checkpoint is in the same transactions as the state, so a lost tail loses both
   * together, and the service reads that tail from the log again at its next start. FULL would add
   * an fsync to every delivery for nothing the log does not already guarantee.
   */
  constructor({ file, service, version, migrations }: StoreOptions) {
    this.db = new Database(file);
    if (file !== ':memory:') this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(MECHANISM_SCHEMA);
    const meta = readMeta(this.db);
    const setMeta = this.db.prepare<[string, string]>(
      'INSERT INTO projection_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    );
    if (meta.service === undefined) {
      this.db.transaction(() => {
        setMeta.run('service', service);
        setMeta.run('format', String(FORMAT));
        setMeta.run('version', String(version));
        setMeta.run('step', '0');
        this.db.prepare('INSERT INTO projection_checkpoint (id, position) VALUES (1, 0) ON CONFLICT DO NOTHING').run();
      })();
    }
    for (let step = meta.step ?? 0; step < migrations.length; step += 1) {
      this.db.transaction(() => {
        this.db.exec(migrations[step]!);
        setMeta.run('step', String(step + 1));
      })();
    }
    this.checkpoint = this.db
      .prepare<[], number>('SELECT position FROM projection_checkpoint WHERE id = 1')
      .pluck()
      .get()!;
    this.outboxSize = this.db.prepare<[], number>('SELECT COUNT(*) FROM projection_outbox').pluck().get()!;
    const setCheckpoint = this.db.prepare<[number]>('UPDATE projection_checkpoint SET position = ? WHERE id = 1');
    const insertOutbox = this.db.prepare<[string, string]>(
      'INSERT INTO projection_outbox (id, event) VALUES (?, ?) ON CONFLICT (id) DO NOTHING',
    );
    this.deleteOutbox = this.db.prepare('DELETE FROM projection_outbox WHERE id = ?');
    this.selectOutbox = this.db.prepare('SELECT id, event FROM projection_outbox ORDER BY rowid LIMIT ?');
    this.commitBatch = this.db.transaction((events: readonly Envelope[], next: number, apply: ApplyInTransaction) => {
      let change = 0;
      for (const event of events) {
        // One of this service's own reactions, stored: it is no longer pending.
        change -= this.deleteOutbox.run(event.id).changes;
        for (const reaction of apply(event) ?? []) {
          if (reaction.id === undefined)
            throw new Error(`${service}: a reaction to ${event.type} needs a deterministic id`);
          change += insertOutbox.run(reaction.id, JSON.stringify(reaction)).changes;
        }
      }
      setCheckpoint.run(next);
      return change;
    });
  }

  /** The seq of the last event the state accounts for. */
  get position(): number {
    return this.checkpoint;
  }

  get pendingReactions(): number {
    return this.outboxSize;
  }

  /**
   * Applies `events` (each after the position, in seq order) and moves the checkpoint to `next`, in
   * one transaction: if `apply` or a write throws, nothing of the batch is kept, checkpoint included.
   * Returns how many reactions were added.
   */
  commit(events: readonly Envelope[], next: number, apply: ApplyInTransaction): number {
    const change = this.commitBatch(events, next, apply);
    this.checkpoint = next;
    this.outboxSize += change;
    return Math.max(change, 0);
  }

  /** Up to `limit` reactions waiting to be published, oldest first. */
  pendingBatch(limit: number): NewEvent[] {
    return this.selectOutbox.all(limit).map((row) => JSON.parse(row.event) as NewEvent);
  }

  /** Reactions the log has acknowledged: they leave the outbox. */
  published(ids: readonly string[]): void {
    let removed = 0;
    this.db.transaction(() => {
      for (const id of ids) removed += this.deleteOutbox.run(id).changes;
    })();
    this.outboxSize -= removed;
  }

  /** Adds reactions to the outbox (an older file's, carried over by a swap). */
  addPending(reactions: readonly NewEvent[]): void {
    const insert = this.db.prepare<[string, string]>(
      'INSERT INTO projection_outbox (id, event) VALUES (?, ?) ON CONFLICT (id) DO NOTHING',
    );
    let added = 0;
    this.db.transaction(() => {
      for (const reaction of reactions) added += insert.run(reaction.id!, JSON.stringify(reaction)).changes;
    })();
    this.outboxSize += added;
  }

  /**
   * A write that needs a new page, undone in the same transaction: throws while the disk (or the
   * file's size limit) refuses to grow the file, as a commit of events would.
   */
  probe(): void {
    this.db.transaction(() => {
      this.db.prepare('INSERT OR REPLACE INTO projection_probe (id, filler) VALUES (1, zeroblob(16384))').run();
      this.db.prepare('DELETE FROM projection_probe').run();
    })();
  }

  dump(): Record<string, unknown[]> {
    return dumpTables(this.db);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
