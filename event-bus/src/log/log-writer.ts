import path from 'node:path';
import Database, { type Statement } from 'better-sqlite3';
import type { EventType } from '@mini-blog/common/events';

/** An event ready to be stored: validated, with its id, and its data already as JSON text. */
export interface PendingEvent {
  readonly id: string;
  readonly type: EventType;
  readonly dataJson: string;
  /** The stream the event extends (one post's comments, say): what a conditional publish checks. */
  readonly key?: string;
  /** Stored only if the newest stored event with `key` has this seq (0: none yet). */
  readonly expectedLastSeq?: number;
  /** The publisher's trace context, delivered with the event so that its consumers continue the trace. */
  readonly traceparent?: string;
  /** The principal whose credential published it: the flow shows it. */
  readonly publisher?: string;
}

/** Why a publish (all of its events) was not stored. */
export type Refusal =
  | { readonly reason: 'expected-last-seq'; readonly key: string; readonly lastSeq: number }
  | { readonly reason: 'id-conflict'; readonly id: string };

export type ParkChange =
  | {
      readonly op: 'park';
      readonly subscriber: string;
      readonly seq: number;
      readonly attempts: number;
      readonly reason: string;
      readonly at: string;
    }
  | { readonly op: 'unpark'; readonly subscriber: string; readonly seq: number };

/**
 * Everything written in one transaction. The events come as parallel arrays rather than objects:
 * copying plain strings to the writer thread costs a third of copying objects.
 */
export interface WriteRequest {
  readonly time: string;
  readonly ids: readonly string[];
  readonly types: readonly string[];
  readonly data: readonly string[];
  /** Each event's key, or null. */
  readonly keys: readonly (string | null)[];
  /** Each event's expected last seq of its key, or null for an unconditional event. */
  readonly expected: readonly (number | null)[];
  /** Each event's traceparent, or null. */
  readonly traceparents: readonly (string | null)[];
  /** Each event's publisher, or null. */
  readonly publishers: readonly (string | null)[];
  /**
   * How many events each publish has, in order: each publish is stored whole or not at all, on its
   * own, while the others of the transaction go on.
   */
  readonly groups: readonly number[];
  /** `[subscriber, cursor, acked]`. */
  readonly cursors: readonly (readonly [string, number, number])[];
  readonly parks: readonly ParkChange[];
  /** Writes a row of its own even when nothing else is to be written: to find out whether the disk takes writes again. */
  readonly probe?: boolean;
}

export type WriteReply =
  | {
      readonly ok: true;
      /** The seq of each event of the request, in order (the original seq for a duplicate, 0 in a refused publish). */
      readonly seqs: readonly number[];
      readonly duplicates: readonly boolean[];
      /** `[group index, why]` for each publish that was not stored. */
      readonly refusals: readonly (readonly [number, Refusal])[];
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
      time TEXT NOT NULL,
      key TEXT
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
  // A log written before keys (traces, publishers) existed gets the column; its events have none.
  const columns = db.prepare<[], { name: string }>("SELECT name FROM pragma_table_info('events')").all();
  for (const column of ['key', 'traceparent', 'publisher']) {
    if (!columns.some((existing) => existing.name === column)) db.exec(`ALTER TABLE events ADD COLUMN ${column} TEXT`);
  }
  db.exec('CREATE INDEX IF NOT EXISTS events_by_key ON events (key, seq) WHERE key IS NOT NULL');
}

/** A publish that must not be stored: thrown inside its group, caught by the transaction. */
class RefusedGroup extends Error {
  constructor(readonly refusal: Refusal) {
    super(refusal.reason);
  }
}

/**
 * The only connection that writes. `seq` is the rowid, given out here one by one inside the
 * transaction, so it has no gaps; `id` is unique, which makes a re-sent event a lookup instead of
 * a second row. It keeps the last seq of every key in memory (rebuilt from the log when opened),
 * so a conditional publish is checked here, in the one place that orders every write. Synchronous:
 * it runs in its own thread (see writer.ts), where waiting for the disk blocks nobody.
 */
export class LogWriter {
  private readonly db: Database.Database;
  private head: number;
  private readonly lastSeqOfKey: Map<string, number>;
  /** `[key, its last seq before]` for every key the current transaction moved, to undo them. */
  private keyMoves: [string, number | undefined][] = [];
  private readonly insert: Statement<
    [number, string, string, string, string, string | null, string | null, string | null]
  >;
  private readonly storedById: Statement<[string], { seq: number; type: string; data: string }>;
  private readonly deleteAfter: Statement<[number]>;
  private readonly upsertCursor: Statement<[string, number, number]>;
  private readonly insertParked: Statement<[string, number, number, string, string]>;
  private readonly deleteParked: Statement<[string, number]>;
  private readonly writeProbe: Statement<[string]>;
  private readonly transaction: (request: WriteRequest) => Omit<Extract<WriteReply, { ok: true }>, 'ok'>;

  constructor(dataDir: string) {
    this.db = new Database(path.join(dataDir, DATABASE_FILE));
    // FULL: each commit reaches the disk before it returns, so a 2xx survives a power cut.
    this.db.pragma('synchronous = FULL');
    this.head = (this.db.prepare('SELECT COALESCE(MAX(seq), 0) AS head FROM events').get() as { head: number }).head;
    const keys = this.db
      .prepare<[], [string, number]>('SELECT key, MAX(seq) FROM events WHERE key IS NOT NULL GROUP BY key')
      .raw()
      .all();
    this.lastSeqOfKey = new Map(keys);
    this.insert = this.db.prepare(
      'INSERT INTO events (seq, id, type, data, time, key, traceparent, publisher) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING',
    );
    this.storedById = this.db.prepare('SELECT seq, type, data FROM events WHERE id = ?');
    this.deleteAfter = this.db.prepare('DELETE FROM events WHERE seq > ?');
    this.upsertCursor = this.db.prepare(
      'INSERT INTO cursors (subscriber, cursor, acked) VALUES (?, ?, ?) ON CONFLICT (subscriber) DO UPDATE SET cursor = excluded.cursor, acked = excluded.acked',
    );
    this.insertParked = this.db.prepare(
      'INSERT INTO parked (subscriber, seq, attempts, reason, parked_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (subscriber, seq) DO UPDATE SET attempts = excluded.attempts, reason = excluded.reason, parked_at = excluded.parked_at',
    );
    this.deleteParked = this.db.prepare('DELETE FROM parked WHERE subscriber = ? AND seq = ?');
    this.writeProbe = this.db.prepare(
      'INSERT INTO probes (id, time) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET time = excluded.time',
    );
    this.transaction = this.db.transaction((request: WriteRequest) => {
      const seqs: number[] = [];
      const duplicates: boolean[] = [];
      const refusals: [number, Refusal][] = [];
      let start = 0;
      request.groups.forEach((count, group) => {
        const end = start + count;
        const headBefore = this.head;
        const movesBefore = this.keyMoves.length;
        try {
          for (let index = start; index < end; index += 1) {
            const [seq, duplicate] = this.append(request, index);
            seqs.push(seq);
            duplicates.push(duplicate);
          }
        } catch (err) {
          if (!(err instanceof RefusedGroup)) throw err;
          // Undone inside the transaction: the rows of this publish go, the others' stay.
          if (this.head > headBefore) this.deleteAfter.run(headBefore);
          this.head = headBefore;
          this.undoKeyMoves(movesBefore);
          seqs.length = start;
          duplicates.length = start;
          for (let index = start; index < end; index += 1) {
            seqs.push(0);
            duplicates.push(false);
          }
          refusals.push([group, err.refusal]);
        }
        start = end;
      });
      for (const [subscriber, cursor, acked] of request.cursors) this.upsertCursor.run(subscriber, cursor, acked);
      for (const change of request.parks) {
        if (change.op === 'park')
          this.insertParked.run(change.subscriber, change.seq, change.attempts, change.reason, change.at);
        else this.deleteParked.run(change.subscriber, change.seq);
      }
      if (request.probe) this.writeProbe.run(request.time);
      return { seqs, duplicates, refusals, head: this.head };
    });
  }

  /** One transaction, one disk sync; on any error nothing of the request is stored. */
  write(request: WriteRequest): WriteReply {
    const head = this.head;
    this.keyMoves = [];
    try {
      return { ok: true, ...this.transaction(request) };
    } catch (err) {
      this.head = head;
      this.undoKeyMoves(0);
      return { ok: false, error: err instanceof Error ? err.message : String(err) };
    }
  }

  close(): void {
    this.db.close();
  }

  /**
   * Stores one event, or finds it stored under its id: `[seq, duplicate]`. A duplicate answers as
   * one before any condition is checked (a retry of a conditional publish that was stored), unless
   * its type or data differ from the stored event's.
   */
  private append(request: WriteRequest, index: number): [number, boolean] {
    const id = request.ids[index]!;
    const key = request.keys[index] ?? null;
    const expected = request.expected[index] ?? null;
    if (expected !== null) {
      const stored = this.storedById.get(id);
      if (stored) return this.duplicate(request, index, stored);
      const lastSeq = this.lastSeqOfKey.get(key!) ?? 0;
      if (lastSeq !== expected) throw new RefusedGroup({ reason: 'expected-last-seq', key: key!, lastSeq });
    }
    const seq = this.head + 1;
    const inserted = this.insert.run(
      seq,
      id,
      request.types[index]!,
      request.data[index]!,
      request.time,
      key,
      request.traceparents[index] ?? null,
      request.publishers[index] ?? null,
    );
    // A duplicate is the same event whatever trace its retry came in: the first one's context stays.
    if (inserted.changes === 0) {
      return this.duplicate(request, index, this.storedById.get(id)!);
    }
    this.head = seq;
    if (key !== null) {
      this.keyMoves.push([key, this.lastSeqOfKey.get(key)]);
      this.lastSeqOfKey.set(key, seq);
    }
    return [seq, false];
  }

  private duplicate(
    request: WriteRequest,
    index: number,
    stored: { seq: number; type: string; data: string },
  ): [number, boolean] {
    if (stored.type !== request.types[index] || stored.data !== request.data[index]) {
      throw new RefusedGroup({ reason: 'id-conflict', id: request.ids[index]! });
    }
    return [stored.seq, true];
  }

  /** Puts back the last seqs of the keys moved since the `from`th move. */
  private undoKeyMoves(from: number): void {
    for (const [key, before] of this.keyMoves.splice(from).reverse()) {
      if (before === undefined) this.lastSeqOfKey.delete(key);
      else this.lastSeqOfKey.set(key, before);
    }
  }
}
