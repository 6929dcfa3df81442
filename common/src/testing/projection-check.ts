import { isDeepStrictEqual } from 'node:util';
import Database from 'better-sqlite3';
import { createConsumer } from '../service/consumer';
import type { Envelope } from '../events';
import { Projection } from '../projection/projection';
import { dumpTables } from '../projection/store';
import type { ProjectionDefinition } from '../projection/types';
import { replayedTypes, type SubscriberName } from '../registry';
import { silentLogger } from '../service/logger';
import type { LogPage, ReadLogOptions } from '../transport/types';

/**
 * The crash tests' check, for any service's projection: the file a service left behind (killed at
 * any moment) must hold what a projection built anew from the log holds at the same checkpoint.
 */

export type TableDump = Record<string, unknown[]>;

/**
 * Every table of a projection file, sorted (as `Projection.dump`); read only, so the service may be
 * running. One read transaction: every table, the checkpoint included, as of one commit.
 */
export function dumpProjectionFile(file: string): TableDump {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return db.transaction(() => dumpTables(db))();
  } finally {
    db.close();
  }
}

/** The checkpoint in a dump. */
export function checkpointOf(dump: TableDump): number {
  return (dump.projection_checkpoint?.[0] as { position?: number } | undefined)?.position ?? 0;
}

const neverPublish = async (): Promise<never> => {
  throw new Error('a projection built for a check publishes nothing');
};

/** `log` (every event, in seq order) as the consumer reads it, ending at `position`. */
function logUpTo(log: readonly Envelope[], position: number) {
  return async ({ after, limit = 1000, types }: ReadLogOptions): Promise<LogPage> => {
    const wanted = types ? new Set<string>(types) : undefined;
    const events: Envelope[] = [];
    let next = after;
    for (const event of log) {
      if (event.seq <= after) continue;
      if (event.seq > position || events.length >= limit) break;
      next = event.seq;
      if (!wanted || wanted.has(event.type)) events.push(event);
    }
    return { events, next: events.length < limit ? position : next, head: position };
  };
}

/** `definition`'s projection built in memory from `log` up to `position`, dumped. */
export async function projectionFromLog<S extends SubscriberName, M>(
  service: S,
  definition: ProjectionDefinition<S, M>,
  log: readonly Envelope[],
  position: number,
): Promise<TableDump> {
  const logger = silentLogger();
  const projection = new Projection({ service, definition, logger });
  try {
    const consumer = createConsumer({
      name: `${service} check`,
      bus: { readLog: logUpTo(log, position), publish: neverPublish, publishBatch: neverPublish },
      types: replayedTypes(service),
      logger,
      state: projection,
      maxPendingReactions: Number.POSITIVE_INFINITY,
    });
    await consumer.syncToHead();
    return projection.dump();
  } finally {
    projection.close();
  }
}

/**
 * How a service's projection (`live`) differs from one built from the log at its checkpoint
 * (`rebuilt`), table by table; empty when it does not. Every table must be equal, but the outbox:
 * the live one drops a reaction once the log has it, and the log may have it beyond the checkpoint.
 * So each reaction the rebuilt outbox holds must be in the live outbox or in the log, and the live
 * outbox may hold nothing else.
 */
export function projectionDifferences(live: TableDump, rebuilt: TableDump, log: readonly Envelope[]): string[] {
  const differences: string[] = [];
  const tables = [...new Set([...Object.keys(live), ...Object.keys(rebuilt)])].sort();
  for (const table of tables) {
    if (table === 'projection_outbox') continue;
    const [mine, theirs] = [live[table], rebuilt[table]];
    if (mine === undefined || theirs === undefined) {
      differences.push(`${table}: only in the ${mine === undefined ? 'rebuilt' : 'live'} projection`);
    } else if (!isDeepStrictEqual(mine, theirs)) {
      const extra = mine.filter((row) => !theirs.some((other) => isDeepStrictEqual(row, other)));
      const lacking = theirs.filter((row) => !mine.some((other) => isDeepStrictEqual(row, other)));
      differences.push(
        `${table}: ${mine.length} rows live, ${theirs.length} rebuilt; live only ${JSON.stringify(extra.slice(0, 3))}, rebuilt only ${JSON.stringify(lacking.slice(0, 3))}`,
      );
    }
  }
  const inLog = new Set(log.map((event) => event.id));
  const ids = (dump: TableDump) => new Set((dump.projection_outbox ?? []).map((row) => (row as { id: string }).id));
  const [liveOutbox, rebuiltOutbox] = [ids(live), ids(rebuilt)];
  for (const id of liveOutbox)
    if (!rebuiltOutbox.has(id)) differences.push(`projection_outbox: ${id} is pending live but not in a rebuild`);
  for (const id of rebuiltOutbox)
    if (!liveOutbox.has(id) && !inLog.has(id))
      differences.push(`projection_outbox: ${id} is neither pending live nor in the log (lost)`);
  return differences;
}

/**
 * Builds the projection from the log at the checkpoint of `file` and compares them; the differences,
 * or none. The log is read after the file (`readLog`), so that it holds every event up to the
 * checkpoint even while the service is still applying events.
 */
export async function checkProjectionFile<S extends SubscriberName, M>(
  file: string,
  service: S,
  definition: ProjectionDefinition<S, M>,
  readLog: () => Promise<readonly Envelope[]>,
): Promise<{ readonly checkpoint: number; readonly differences: string[] }> {
  const live = dumpProjectionFile(file);
  const checkpoint = checkpointOf(live);
  const log = await readLog();
  const end = log.at(-1)?.seq ?? 0;
  if (end < checkpoint) throw new Error(`the log read ends at ${end}, before the file's checkpoint ${checkpoint}`);
  const rebuilt = await projectionFromLog(service, definition, log, checkpoint);
  return { checkpoint, differences: projectionDifferences(live, rebuilt, log) };
}
