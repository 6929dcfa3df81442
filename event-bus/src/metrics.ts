import type { SubscriptionStatus } from '@mini-blog/common/events';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The gauges of each subscriber, by name: what it means, and its value in the subscriber's status. */
const SUBSCRIBER_GAUGES: Record<string, readonly [help: string, value: (status: SubscriptionStatus) => number]> = {
  eventbus_subscriber_cursor: [
    'Every event up to this seq is dealt with for the subscriber.',
    (status) => status.cursor,
  ],
  eventbus_subscriber_lag: ['Events between the subscriber cursor and the head.', (status) => status.lag],
  eventbus_subscriber_in_flight: ['Events in the delivery request under way.', (status) => status.inFlight],
  eventbus_subscriber_attempts: ['Failed attempts of the current delivery.', (status) => status.attempts],
  eventbus_subscriber_parked: ['Events parked for the subscriber.', (status) => status.parked],
  eventbus_subscriber_blocked: [
    '1 while the subscriber is blocked on a rejected event.',
    (status) => (status.blockedAt === null ? 0 : 1),
  ],
};

/**
 * The bus's Prometheus metrics, in a registry of its own so that several buses in one process
 * (tests) do not share counters. Labels are subscriber names and outcomes, never event contents.
 */
export class BusMetrics {
  readonly registry = new Registry();
  readonly appended = this.counter('eventbus_events_appended_total', 'Events stored in the log.');
  readonly duplicates = this.counter(
    'eventbus_events_duplicate_total',
    'Published events whose id was already in the log (answered with the original seq).',
  );
  readonly refusals = this.counter(
    'eventbus_publish_conflicts_total',
    "Publishes refused whole with 409: an expectedLastSeq that is not the key's last seq, or an id stored with other data.",
  );
  readonly commitSeconds = this.histogram(
    'eventbus_commit_seconds',
    'Duration of one group commit (one transaction and disk sync for every publish of an event-loop turn).',
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
  );
  readonly commitSize = this.histogram(
    'eventbus_commit_events',
    'Events per group commit.',
    [1, 2, 5, 10, 50, 100, 500, 1000, 5000],
  );
  readonly deliveries = this.counter(
    'eventbus_deliveries_total',
    'Delivery requests to subscribers, by outcome (ok, failed: network or 5xx, rejected: 4xx).',
    ['subscriber', 'outcome'],
  );
  readonly delivered = this.counter('eventbus_events_delivered_total', 'Events acknowledged by subscribers.', [
    'subscriber',
  ]);
  readonly parked = this.counter('eventbus_events_parked_total', 'Events parked after repeated rejections.', [
    'subscriber',
  ]);
  readonly deliverySeconds = this.histogram(
    'eventbus_delivery_seconds',
    'Duration of one delivery request.',
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
    ['subscriber'],
  );

  /** A counter in this registry; `labelNames` when it is counted per subscriber or outcome. */
  private counter<L extends string>(name: string, help: string, labelNames?: readonly L[]): Counter<L> {
    return new Counter({ name, help, ...(labelNames && { labelNames }), registers: [this.registry] });
  }

  /** A histogram in this registry, with its buckets. */
  private histogram<L extends string>(
    name: string,
    help: string,
    buckets: number[],
    labelNames?: readonly L[],
  ): Histogram<L> {
    return new Histogram({ name, help, buckets, ...(labelNames && { labelNames }), registers: [this.registry] });
  }

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'eventbus_' });
  }

  /** Gauges read at scrape time from the live state. */
  watch(head: () => number, statuses: () => readonly SubscriptionStatus[]): void {
    const registers = [this.registry];
    new Gauge({
      name: 'eventbus_head_seq',
      help: 'The newest seq in the log.',
      registers,
      collect() {
        this.set(head());
      },
    });
    for (const [name, [help, value]] of Object.entries(SUBSCRIBER_GAUGES))
      new Gauge({
        name,
        help,
        labelNames: ['subscriber'],
        registers,
        collect() {
          for (const status of statuses()) this.set({ subscriber: status.name }, value(status));
        },
      });
  }
}
