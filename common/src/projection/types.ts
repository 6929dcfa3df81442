import type Database from 'better-sqlite3';
import type { Envelope, NewEvent } from '../events';
import type { Handled, SubscriberName } from '../registry';

/** An open SQLite database (better-sqlite3). */
export type ProjectionDb = Database.Database;

/**
 * What a service declares about its own database (its projection of the log): the schema, how to
 * work with one open file, and its reducer. Everything else (the file, the transaction around each
 * batch of events, the checkpoint written in that transaction, the outbox of reactions, integrity
 * and version checks, rebuilding beside the live file and swapping) is the mechanism's, in common:
 * no service writes checkpoint or transaction code.
 */
export interface ProjectionDefinition<S extends SubscriberName, M> {
  /**
   * The version of what the reducer stores. Bump it when a change to the reducer or the schema needs
   * the events applied again: the service then rebuilds its projection from the log on its next start.
   */
  readonly version: number;
  /**
   * The schema, one SQL script a step, in order. A new file runs them all; a file written at step n
   * runs the steps after n on open. Never edit a step that has shipped: add one.
   * The mechanism's own tables (checkpoint, outbox, meta) are not listed here.
   */
  readonly migrations: readonly string[];
  /**
   * The service's model over one open database: its prepared statements and the reads its routes
   * use. Called for every file the mechanism opens (the live one, and a rebuild's before the swap),
   * so keep no other handle to a database than the one given here.
   */
  readonly open: (db: ProjectionDb) => M;
  /**
   * Applies one event through the model. It runs inside the transaction that also moves the
   * checkpoint (and stores the reactions it returns in the outbox): synchronous, and never opens
   * or commits a transaction itself. Returns the events this one causes, each with a deterministic id.
   */
  readonly apply: (model: M, event: Envelope<Handled<S>>) => readonly NewEvent[] | void;
}
