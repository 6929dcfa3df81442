import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import Database, { type Statement } from 'better-sqlite3';
import type { EventMeta, EventType, ParkedEvent } from '@mini-blog/common/events';
import { createSchema, DATABASE_FILE } from './log-writer';

/** A stored event as read from the log: its envelope `{id, seq, type, data, time, key?, traceparent?}` as JSON text. */
export interface StoredEvent {
  readonly seq: number;
  readonly type: EventType;
  readonly json: string;
}

/** Envelopes read for an answer: their JSON texts, and the seq of the last one. */
export interface EnvelopePage {
  readonly json: string[];
  readonly last: number;
}

export interface CursorRecord {
  /** Every event up to here has been dealt with (delivered, filtered out or parked). */
  readonly cursor: number;
  /** The last event the subscriber acknowledged: what the `x-bus-cursor` header tells it. */
  readonly acked: number;
}

/** A parked event as `GET /admin/parked` lists it, its type one of the catalog's. */
export interface ParkedRecord extends ParkedEvent {
  readonly type: EventType;
}

/** A row of metadata: the optional columns are null where an event has none. */
type MetaRow = Omit<EventMeta, 'publisher' | 'traceId'> & { publisher: string | null; traceId: string | null };

function toMeta({ publisher, traceId, ...meta }: MetaRow): EventMeta {
  return { ...meta, ...(publisher === null ? {} : { publisher }), ...(traceId === null ? {} : { traceId }) };
}

/**
 * The envelope as JSON, written by SQLite around the stored data: no row object per event, no
 * parsing or serialising of the data. `json_quote` escapes exactly as `JSON.stringify` does, so the
 * text is the compact JSON that signed deliveries are verified against.
 */
const ENVELOPE = `'{"id":' || json_quote(id) || ',"seq":' || seq || ',"type":"' || type || '","data":' || data || ',"time":"' || time || '"' || IIF(key IS NULL, '', ',"key":' || json_quote(key)) || IIF(traceparent IS NULL, '', ',"traceparent":"' || traceparent || '"') || '}'`;
/** The metadata the views show: the trace id is the traceparent's second field (`00-<trace id>-...`). */
const META = `seq, type, id, time, publisher, substr(traceparent, 4, 32) AS traceId`;
const AFTER_UP_TO = 'WHERE seq > ? AND seq <= ?';

/**
 * The log's folder and files, its owner's alone: the log holds every event, rejected comments
 * included. A folder the bus creates is 0700 (one that exists, such as a volume's mount point, keeps
 * its mode); the database is created 0600 before SQLite opens it, and SQLite gives its `-wal` and
 * `-shm` files the database's mode. Files left by an older bus with a wider mode are narrowed.
 */
export function preparePrivateDatabase(dataDir: string): string {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = path.join(dataDir, DATABASE_FILE);
  for (const name of [file, `${file}-wal`, `${file}-shm`]) if (existsSync(name)) chmodSync(name, 0o600);
  closeSync(openSync(file, 'a', 0o600));
  return file;
}

/**
 * The reading side of the log, on the event-loop thread. Reads stop at `head`, the newest seq
 * whose commit has been reported: a reader never sees an event before its publisher's 2xx could
 * have been sent. Writes go through the writer (log-writer.ts), which moves `head`.
 */
export class EventStore {
  private readonly db: Database.Database;
  private headSeq: number;
  private readonly readJson: Statement<[number, number, number], string>;
  private readonly readMetaAll: Statement<[number, number, number], MetaRow>;
  private readonly readOneStatement: Statement<[number, number], { json: string; publisher: string | null }>;
  private readonly rowStatements = new Map<string, Statement<unknown[], [number, EventType, string]>>();

  constructor(dataDir: string) {
    this.db = new Database(preparePrivateDatabase(dataDir));
    createSchema(this.db);
    this.db.pragma('query_only = true');
    this.headSeq = (this.db.prepare('SELECT COALESCE(MAX(seq), 0) AS head FROM events').get() as { head: number }).head;
    this.readJson = this.db
      .prepare<[number, number, number], string>(`SELECT ${ENVELOPE} FROM events ${AFTER_UP_TO} ORDER BY seq LIMIT ?`)
      .pluck();
    this.readMetaAll = this.db.prepare(`SELECT ${META} FROM events ${AFTER_UP_TO} ORDER BY seq LIMIT ?`);
    this.readOneStatement = this.db.prepare(
      `SELECT ${ENVELOPE} AS json, publisher FROM events WHERE seq = ? AND seq <= ?`,
    );
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
    const rows = this.rowsStatement(types).all(after, upTo, ...(types ?? []), limit);
    return rows.map(([seq, type, json]) => ({ seq, type, json }));
  }

  /** Like `read`, for answers that need only the JSON texts: the fastest way through the log. */
  readEnvelopes(after: number, limit: number, types: readonly EventType[] | null = null): EnvelopePage {
    if (types) {
      const events = this.read(after, limit, types);
      return { json: events.map((event) => event.json), last: events.at(-1)?.seq ?? after };
    }
    const json = this.readJson.all(after, this.headSeq, limit);
    // Without a filter the seqs after `after` are consecutive: the log has no gaps.
    return { json, last: after + json.length };
  }

  /** Like `read`, without the payloads. */
  readMeta(after: number, limit: number): EventMeta[] {
    return this.readMetaAll.all(after, this.headSeq, limit).map(toMeta);
  }

  /** One committed event and who published it; undefined past the head. */
  readOne(seq: number): { envelope: unknown; publisher?: string } | undefined {
    const row = this.readOneStatement.get(seq, this.headSeq);
    if (!row) return undefined;
    return {
      envelope: JSON.parse(row.json) as unknown,
      ...(row.publisher === null ? {} : { publisher: row.publisher }),
    };
  }

  private rowsStatement(types: readonly EventType[] | null): Statement<unknown[], [number, EventType, string]> {
    const key = types ? types.join(',') : '';
    let statement = this.rowStatements.get(key);
    if (!statement) {
      const filter = types ? `AND type IN (${types.map(() => '?').join(', ')})` : '';
      statement = this.db
        .prepare<unknown[], [number, EventType, string]>(
          `SELECT seq, type, ${ENVELOPE} FROM events ${AFTER_UP_TO} ${filter} ORDER BY seq LIMIT ?`,
        )
        .raw();
      this.rowStatements.set(key, statement);
    }
    return statement;
  }

  loadCursors(): Map<string, CursorRecord> {
    const rows = this.db.prepare('SELECT subscriber, cursor, acked FROM cursors').all() as {
      subscriber: string;
      cursor: number;
      acked: number;
    }[];
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
