import Database from 'better-sqlite3';
import type { Envelope } from '@mini-blog/common/events';
import type { Handled } from '@mini-blog/common/registry';
import { MIGRATIONS, queryProjection, type QueryProjectionOptions } from '../src/projection';

export type QueryEvent = Envelope<Handled<'query'>>;

/**
 * The query projection on an in-memory database with its migrations, without the mechanism: each
 * `apply` call one transaction, as the mechanism applies a batch.
 */
export function openProjection(options?: QueryProjectionOptions) {
  const db = new Database(':memory:');
  for (const step of MIGRATIONS) db.exec(step);
  const definition = queryProjection(options);
  const model = definition.open(db);
  const applyAll = db.transaction((events: readonly QueryEvent[]) => {
    for (const event of events) definition.apply(model, event);
  });
  return { db, model, apply: (...events: QueryEvent[]) => applyAll(events) };
}
