import path from 'node:path';
import Database, { type Statement } from 'better-sqlite3';
import type { EventType } from '@mini-blog/common';

/** An event ready to be stored: validated, with its id, and its data already as JSON text. */
export interface PendingEvent {
  readonly id: string;
  readonly type: EventType;
  readonly dataJson: string;
}

export type ParkChange =
  | { readonly op: 'park'; readonly subscriber: string; readonly seq: number; readonly attempts: number; readonly reason: string; readonly at: string }
  | { readonly op: 'unpark'; readonly subscriber: string; readonly seq: number };

/**
 * Everything written in one transaction. The events come as three parallel arrays rather than
 * objects: copying plain strings to the writer thread costs a third of copying objects.
 */
export interface WriteRequest {
  readonly time: string;
  readonly ids: readonly string[];
  readonly types: readonly string[];
  readonly data: readonly string[];
  /** `[subscriber, cursor, acked]`. */
  readonly cursors: readonly (readonly [string, number, number])[];
  readonly parks: readonly ParkChange[];
  /** Writes a row of its own even when nothing else is to be written: to find out whether the disk takes writes again. */
  readonly probe?: boolean;
}

export type WriteReply =
  | {
      readonly ok: true;
      /** The seq of each event of the request, in order (the original seq for a duplicate). */
      readonly seqs: readonly number[];
      readonly duplicates: readonly boolean[];
      readonly head: number;
    }
  | { readonly ok: false; readonly error: string };

export const DATABASE_FILE = 'events.sqlite';

/**
 * Creates the tables if needed: run once by the reading side before the writer starts, so that
 * both find them.
 */
export function createSchema(db: Database.Database): void {
  db.pragma('journal_mode = WAL');
  db.exec(`
    CREATE TABLE IF NOT EXISTS events (
      seq INTEGER PRIMARY KEY,
      id TEXT NOT NULL UNIQUE,
      type TEXT NOT NULL,
      data TEXT NOT NULL,
      time TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS cursors (
      subscriber TEXT PRIMARY KEY,
      cursor INTEGER NOT NULL,
      acked INTEGER NOT NULL
    );
    CREATE TABLE IF NOT EXISTS parked (
      subscriber TEXT NOT NULL,
      seq INTEGER NOT NULL REFERENCES events(seq),
      attempts INTEGER NOT NULL,
      reason TEXT NOT NULL,
      parked_at TEXT NOT NULL,
      PRIMARY KEY (subscriber, seq)
    );
    CREATE TABLE IF NOT EXISTS probes (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      time TEXT NOT NULL
    );
  `);
}

/**
 * The only connection that writes. `seq` is the rowid, given out here one by one inside the
 * transaction, so it has no gaps; `id` is unique, which makes a re-sent event a lookup instead of
 * a second row. Synchronous: it runs in its own thread (see writer.ts), where waiting for the
 * disk blocks nobody.
 */
export class LogWriter {
  private readonly db: Database.Database;
  private head: number;
  private readonly insert: Statement<[number, string, string, string, string]>;
  private readonly seqOfId: Statement<[string], { seq: number }>;
  private readonly upsertCursor: Statement<[string, number, number]>;
  private readonly insertParked: Statement<[string, number, number, string, string]>;
  private readonly deleteParked: Statement<[string, number]>;
  private readonly writeProbe: Statement<[string]>;
  private readonly transaction: (request: WriteRequest) => { seqs: number[]; duplicates: boolean[]; head: number };

  constructor(dataDir: string) {
    this.db = new Database(path.join(dataDir, DATABASE_FILE));
    // FULL: each commit reaches the disk before it returns, so a 2xx survives a power cut.
    this.db.pragma('synchronous = FULL');
    this.head = (this.db.prepare('SELECT COALESCE(MAX(seq), 0) AS head FROM events').get() as { head: number }).head;
    this.insert = this.db.prepare('INSERT INTO events (seq, id, type, data, time) VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING');
    this.seqOfId = this.db.prepare('SELECT seq FROM events WHERE id = ?');
    this.upsertCursor = this.db.prepare(
      'INSERT INTO cursors (subscriber, cursor, acked) VALUES (?, ?, ?) ON CONFLICT (subscriber) DO UPDATE SET cursor = excluded.cursor, acked = excluded.acked',
    );
    this.insertParked = this.db.prepare(
      'INSERT INTO parked (subscriber, seq, attempts, reason, parked_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (subscriber, seq) DO UPDATE SET attempts = excluded.attempts, reason = excluded.reason, parked_at = excluded.parked_at',
    );
    this.deleteParked = this.db.prepare('DELETE FROM parked WHERE subscriber = ? AND seq = ?');
    this.writeProbe = this.db.prepare('INSERT INTO probes (id, time) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET time = excluded.time');
    this.transaction = this.db.transaction((request: WriteRequest) => {
      const seqs: number[] = [];
      const duplicates: boolean[] = [];
      let head = this.head;
      const { ids, types, data, time } = request;
      for (let index = 0; index < ids.length; index += 1) {
        const stored = this.insert.run(head + 1, ids[index]!, types[index]!, data[index]!, time).changes === 1;
        if (stored) head += 1;
        seqs.push(stored ? head : this.seqOfId.get(ids[index]!)!.seq);
        duplicates.push(!stored);
      }
      for (const [subscriber, cursor, acked] of request.cursors) this.upsertCursor.run(subscriber, cursor, acked);
      for (const change of request.parks) {
        if (change.op === 'park') this.insertParked.run(change.subscriber, change.seq, change.attempts, change.reason, change.at);
        else this.deleteParked.run(change.subscriber, change.seq);
      }
      if (request.probe) this.writeProbe.run(time);
      return { seqs, duplicates, head };
    });
  }

  /** One transaction, one disk sync; on any error nothing of the request is stored. */
  write(request: WriteRequest): WriteReply {
    try {
      const { seqs, duplicates, head } = this.transaction(request);
      this.head = head;
      return { ok: true, seqs, duplicates, head };
    } catch (err) {
      return { ok: false, error: err instanceof Error ? err.message : String(err) };
    }
  }

  close(): void {
    this.db.close();
  }
}
