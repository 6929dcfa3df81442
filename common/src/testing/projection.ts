import Database from 'better-sqlite3';
import type { ProjectionDb, ProjectionDefinition } from '../projection/types';
import type { SubscriberName } from '../registry';

/**
 * A projection's model over a new in-memory database that has run its migrations: for unit tests
 * of a service's tables, reads and reducer, without the mechanism's file, checkpoint or outbox.
 * Call `definition.apply(model, event)` to apply events; each statement commits on its own.
 */
export function openTestProjection<S extends SubscriberName, M>(
  definition: ProjectionDefinition<S, M>,
): { readonly db: ProjectionDb; readonly model: M } {
  const db = new Database(':memory:');
  for (const step of definition.migrations) db.exec(step);
  return { db, model: definition.open(db) };
}
