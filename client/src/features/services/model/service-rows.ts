import type { ServiceView, SubscriptionStatus, SupervisorView } from '@mini-blog/common/events';
import { NO_DELIVERY_FAULTS, type DeliveryFaults } from '@mini-blog/common/events/constants';

/** One process in the panel: what the supervisor says of it, and what the bus says of its deliveries. */
export interface ServiceRow {
  readonly name: string;
  /** Null where no supervisor tells (on Kubernetes). */
  readonly process: ServiceView | null;
  /** Null for a process that is not a subscriber (the bus, the client, a NATS node). */
  readonly subscription: SubscriptionStatus | null;
  readonly faults: DeliveryFaults;
}

/** A service's consumers: on JetStream one per replica slot (`query-0`), and one a process left behind, until it expires. */
function consumersOf(name: string, subscriptions: readonly SubscriptionStatus[]): SubscriptionStatus[] {
  return subscriptions.filter((status) => status.name === name || status.name.replace(/-\d+$/, '') === name);
}

/**
 * A service's deliveries in one: the consumer least behind is the one in use (one a process left
 * behind, on JetStream, only falls further behind), and the events parked at any of them.
 */
function deliveriesOf(consumers: readonly SubscriptionStatus[]): SubscriptionStatus | null {
  if (consumers.length === 0) return null;
  const live = consumers.reduce((best, status) => (status.lag < best.lag ? status : best));
  return { ...live, parked: consumers.reduce((sum, status) => sum + status.parked, 0) };
}

/**
 * The supervisor's processes in its order, each with its deliveries; subscribers the supervisor
 * does not run (on Kubernetes, or a course service of EXTRA_SUBSCRIBERS) after them.
 */
export function serviceRows(
  supervisor: SupervisorView | null,
  subscriptions: readonly SubscriptionStatus[],
): ServiceRow[] {
  const faults = supervisor?.faults?.deliveries ?? {};
  const rows: ServiceRow[] = (supervisor?.services ?? []).map((process) => ({
    name: process.name,
    process,
    subscription: deliveriesOf(consumersOf(process.name, subscriptions)),
    faults: faults[process.name] ?? NO_DELIVERY_FAULTS,
  }));
  const known = new Set(rows.flatMap((row) => consumersOf(row.name, subscriptions).map((status) => status.name)));
  for (const subscription of subscriptions) {
    if (known.has(subscription.name)) continue;
    rows.push({
      name: subscription.name,
      process: null,
      subscription,
      faults: faults[subscription.name] ?? NO_DELIVERY_FAULTS,
    });
  }
  return rows;
}
