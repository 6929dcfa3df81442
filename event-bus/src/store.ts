import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database, { type Statement } from 'better-sqlite3';
import type { EventMeta, EventType } from '@mini-blog/common';
import { createSchema, DATABASE_FILE } from './log-writer';

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
 * The reading side of the log, on the event-loop thread. Reads stop at `head`, the newest seq
 * whose commit has been reported: a reader never sees an event before its publisher's 2xx could
 * have been sent. Writes go through the writer (log-writer.ts), which moves `head`.
 */
export class EventStore {
  readonly dataDir: string;
  private readonly db: Database.Database;
  private headSeq: number;
  private readonly readAll: Statement<[number, number, number], StoredEvent>;
  private readonly readMetaAll: Statement<[number, number, number], EventMeta>;
  private readonly typedReads = new Map<string, Statement<unknown[], StoredEvent>>();

  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true });
    this.dataDir = dataDir;
    this.db = new Database(path.join(dataDir, DATABASE_FILE));
    createSchema(this.db);
    this.db.pragma('query_only = true');
    this.headSeq = (this.db.prepare('SELECT COALESCE(MAX(seq), 0) AS head FROM events').get() as { head: number }).head;
    this.readAll = this.db.prepare('SELECT seq, id, type, data, time FROM events WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?');
    this.readMetaAll = this.db.prepare('SELECT seq, type, id, time FROM events WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?');
  }

  /** The newest committed seq (0 for an empty log). */
  get head(): number {
    return this.headSeq;
  }

  /** Called by the writer's side once a commit is on disk. */
  committed(head: number): void {
    this.headSeq = Math.max(this.headSeq, head);
  }

  /** Up to `limit` events after `after` and at most `upTo` (the head by default), in order, of the given types if any. */
  read(after: number, limit: number, types: readonly EventType[] | null = null, upTo = this.headSeq): StoredEvent[] {
    return types ? this.typedRead(types).all(after, upTo, ...types, limit) : this.readAll.all(after, upTo, limit);
  }

  /** Like `read`, without the payloads. */
  readMeta(after: number, limit: number): EventMeta[] {
    return this.readMetaAll.all(after, this.headSeq, limit);
  }

  private typedRead(types: readonly EventType[]): Statement<unknown[], StoredEvent> {
    const key = types.join(',');
    let statement = this.typedReads.get(key);
    if (!statement) {
      const placeholders = types.map(() => '?').join(', ');
      statement = this.db.prepare<unknown[], StoredEvent>(
        `SELECT seq, id, type, data, time FROM events WHERE seq > ? AND seq <= ? AND type IN (${placeholders}) ORDER BY seq LIMIT ?`,
      );
      this.typedReads.set(key, statement);
    }
    return statement;
  }

  loadCursors(): Map<string, CursorRecord> {
    const rows = this.db.prepare('SELECT subscriber, cursor, acked FROM cursors').all() as { subscriber: string; cursor: number; acked: number }[];
    return new Map(rows.map((row) => [row.subscriber, { cursor: row.cursor, acked: row.acked }]));
  }

  listParked(subscriber?: string): ParkedRecord[] {
    const sql = `SELECT p.subscriber, p.seq, e.id, e.type, p.attempts, p.reason, p.parked_at AS parkedAt
      FROM parked p JOIN events e ON e.seq = p.seq ${subscriber === undefined ? '' : 'WHERE p.subscriber = ?'} ORDER BY p.subscriber, p.seq`;
    const statement = this.db.prepare<unknown[], ParkedRecord>(sql);
    return subscriber === undefined ? statement.all() : statement.all(subscriber);
  }

  close(): void {
    this.db.close();
  }
}
