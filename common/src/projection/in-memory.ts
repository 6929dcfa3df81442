import type { Envelope, NewEvent } from '../events';
import type { Handled, SubscriberName } from '../registry';
import type { ProjectionDefinition } from './types';

/**
 * A projection with no tables around a reducer that keeps its state in memory: for a service whose
 * state has not moved into its database yet. Its checkpoint must not outlive the process (the state
 * does not), so such a service is created without a `dataDir`: an in-memory database that is built
 * from the start of the log at every start, as before the projections.
 */
export function inMemoryProjection<S extends SubscriberName>(
  apply: (event: Envelope<Handled<S>>) => readonly NewEvent[] | void,
): ProjectionDefinition<S, void> {
  return { version: 1, migrations: [], open: () => undefined, apply: (_model, event) => apply(event) };
}
