import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database, { type Statement } from 'better-sqlite3';
import type { EventMeta, EventType } from '@mini-blog/common';

/** An event ready to be stored: validated, with its id, and its data already as JSON text. */
export interface PendingEvent {
  readonly id: string;
  readonly type: EventType;
  readonly dataJson: string;
}

export interface AppendResult {
  readonly id: string;
  readonly seq: number;
  readonly duplicate: boolean;
}

/** A stored event as read from the log, its data still JSON text. */
export interface StoredEvent {
  readonly seq: number;
  readonly id: string;
  readonly type: EventType;
  readonly data: string;
  readonly time: string;
}

export interface CursorRecord {
  /** Every event up to here has been dealt with (delivered, filtered out or parked). */
  readonly cursor: number;
  /** The last event the subscriber acknowledged: what the `x-bus-cursor` header tells it. */
  readonly acked: number;
}

export interface ParkedRecord {
  readonly subscriber: string;
  readonly seq: number;
  readonly id: string;
  readonly type: EventType;
  readonly attempts: number;
  readonly reason: string;
  readonly parkedAt: string;
}

/** The envelope `{id, seq, type, data, time}` as JSON, built around the stored data without parsing it. */
export function envelopeJson(event: StoredEvent): string {
  return `{"id":${JSON.stringify(event.id)},"seq":${event.seq},"type":"${event.type}","data":${event.data},"time":"${event.time}"}`;
}

/**
 * The log on SQLite. `seq` is the rowid, given out here one by one inside the write transaction,
 * so it has no gaps; `id` is unique, which makes a re-sent event a lookup instead of a second row.
 * Every method is synchronous: one connection, one thread, so a read never sees half a write.
 */
export class EventStore {
  private readonly db: Database.Database;
  private headSeq: number;
  private readonly insert: Statement<[number, string, string, string, string]>;
  private readonly seqOfId: Statement<[string], { seq: number }>;
  private readonly readAfter: Statement<[number, number], StoredEvent>;
  private readonly readUpTo: Statement<[number, number, number], StoredEvent>;
  private readonly readMetaAfter: Statement<[number, number], EventMeta>;
  private readonly typedReads = new Map<string, Statement<unknown[], StoredEvent>>();
  private readonly upsertCursor: Statement<[string, number, number]>;
  private readonly insertParked: Statement<[string, number, number, string, string]>;
  private readonly deleteParked: Statement<[string, number]>;
  private readonly appendGroups: (groups: readonly (readonly PendingEvent[])[], time: string) => { results: AppendResult[][]; head: number };

  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true });
    this.db = new Database(path.join(dataDir, 'events.sqlite'));
    this.db.pragma('journal_mode = WAL');
    // FULL: a commit reaches the disk before the 2xx, so a power cut loses nothing acknowledged.
    this.db.pragma('synchronous = FULL');
    this.db.exec(`
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
    `);
    this.headSeq = (this.db.prepare('SELECT COALESCE(MAX(seq), 0) AS head FROM events').get() as { head: number }).head;
    this.insert = this.db.prepare('INSERT INTO events (seq, id, type, data, time) VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING');
    this.seqOfId = this.db.prepare('SELECT seq FROM events WHERE id = ?');
    this.readAfter = this.db.prepare('SELECT seq, id, type, data, time FROM events WHERE seq > ? ORDER BY seq LIMIT ?');
    this.readUpTo = this.db.prepare('SELECT seq, id, type, data, time FROM events WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?');
    this.readMetaAfter = this.db.prepare('SELECT seq, type, id, time FROM events WHERE seq > ? ORDER BY seq LIMIT ?');
    this.upsertCursor = this.db.prepare(
      'INSERT INTO cursors (subscriber, cursor, acked) VALUES (?, ?, ?) ON CONFLICT (subscriber) DO UPDATE SET cursor = excluded.cursor, acked = excluded.acked',
    );
    this.insertParked = this.db.prepare(
      'INSERT INTO parked (subscriber, seq, attempts, reason, parked_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (subscriber, seq) DO UPDATE SET attempts = excluded.attempts, reason = excluded.reason, parked_at = excluded.parked_at',
    );
    this.deleteParked = this.db.prepare('DELETE FROM parked WHERE subscriber = ? AND seq = ?');
    this.appendGroups = this.db.transaction((groups: readonly (readonly PendingEvent[])[], time: string) => {
      let head = this.headSeq;
      const results = groups.map((group) =>
        group.map((event): AppendResult => {
          if (this.insert.run(head + 1, event.id, event.type, event.dataJson, time).changes === 1) {
            head += 1;
            return { id: event.id, seq: head, duplicate: false };
          }
          return { id: event.id, seq: this.seqOfId.get(event.id)!.seq, duplicate: true };
        }),
      );
      return { results, head };
    });
  }

  /** The newest seq (0 for an empty log). */
  get head(): number {
    return this.headSeq;
  }

  /**
   * Stores several publish requests in one transaction (group commit): one disk sync for all of
   * them. Each group gets its own results; if the commit fails, nothing of any group is stored.
   */
  append(groups: readonly (readonly PendingEvent[])[], time: string): AppendResult[][] {
    const { results, head } = this.appendGroups(groups, time);
    this.headSeq = head;
    return results;
  }

  /** Up to `limit` events after `after` (and at most `upTo`), in order, of the given types if any. */
  read(after: number, limit: number, types: readonly EventType[] | null = null, upTo?: number): StoredEvent[] {
    if (types) return this.typedRead(types, upTo !== undefined).all(after, ...(upTo !== undefined ? [upTo] : []), ...types, limit);
    return upTo !== undefined ? this.readUpTo.all(after, upTo, limit) : this.readAfter.all(after, limit);
  }

  /** Like `read`, without the payloads. */
  readMeta(after: number, limit: number): EventMeta[] {
    return this.readMetaAfter.all(after, limit);
  }

  private typedRead(types: readonly EventType[], bounded: boolean): Statement<unknown[], StoredEvent> {
    const key = `${bounded}:${types.join(',')}`;
    let statement = this.typedReads.get(key);
    if (!statement) {
      const bound = bounded ? 'AND seq <= ?' : '';
      const placeholders = types.map(() => '?').join(', ');
      statement = this.db.prepare<unknown[], StoredEvent>(
        `SELECT seq, id, type, data, time FROM events WHERE seq > ? ${bound} AND type IN (${placeholders}) ORDER BY seq LIMIT ?`,
      );
      this.typedReads.set(key, statement);
    }
    return statement;
  }

  loadCursors(): Map<string, CursorRecord> {
    const rows = this.db.prepare('SELECT subscriber, cursor, acked FROM cursors').all() as { subscriber: string; cursor: number; acked: number }[];
    return new Map(rows.map((row) => [row.subscriber, { cursor: row.cursor, acked: row.acked }]));
  }

  saveCursors(cursors: ReadonlyMap<string, CursorRecord>): void {
    this.db.transaction(() => {
      for (const [subscriber, { cursor, acked }] of cursors) this.upsertCursor.run(subscriber, cursor, acked);
    })();
  }

  park(subscriber: string, seq: number, attempts: number, reason: string): void {
    this.insertParked.run(subscriber, seq, attempts, reason, new Date().toISOString());
  }

  unpark(subscriber: string, seq: number): boolean {
    return this.deleteParked.run(subscriber, seq).changes === 1;
  }

  listParked(subscriber?: string): ParkedRecord[] {
    const sql = `SELECT p.subscriber, p.seq, e.id, e.type, p.attempts, p.reason, p.parked_at AS parkedAt
      FROM parked p JOIN events e ON e.seq = p.seq ${subscriber === undefined ? '' : 'WHERE p.subscriber = ?'} ORDER BY p.subscriber, p.seq`;
    const statement = this.db.prepare<unknown[], ParkedRecord>(sql);
    return subscriber === undefined ? statement.all() : statement.all(subscriber);
  }

  parkedCounts(): Map<string, number> {
    const rows = this.db.prepare('SELECT subscriber, COUNT(*) AS count FROM parked GROUP BY subscriber').all() as { subscriber: string; count: number }[];
    return new Map(rows.map((row) => [row.subscriber, row.count]));
  }

  close(): void {
    this.db.close();
  }
}
