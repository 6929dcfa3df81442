import type { SubscriptionStatus } from '@mini-blog/common/events';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * The bus's Prometheus metrics, in a registry of its own so that several buses in one process
 * (tests) do not share counters. Labels are subscriber names and outcomes, never event contents.
 */
export class BusMetrics {
  readonly registry = new Registry();
  readonly appended = new Counter({
    name: 'eventbus_events_appended_total',
    help: 'Events stored in the log.',
    registers: [this.registry],
  });
  readonly duplicates = new Counter({
    name: 'eventbus_events_duplicate_total',
    help: 'Published events whose id was already in the log (answered with the original seq).',
    registers: [this.registry],
  });
  readonly refusals = new Counter({
    name: 'eventbus_publish_conflicts_total',
    help: "Publishes refused whole with 409: an expectedLastSeq that is not the key's last seq, or an id stored with other data.",
    registers: [this.registry],
  });
  readonly commitSeconds = new Histogram({
    name: 'eventbus_commit_seconds',
    help: 'Duration of one group commit (one transaction and disk sync for every publish of an event-loop turn).',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
    registers: [this.registry],
  });
  readonly commitSize = new Histogram({
    name: 'eventbus_commit_events',
    help: 'Events per group commit.',
    buckets: [1, 2, 5, 10, 50, 100, 500, 1000, 5000],
    registers: [this.registry],
  });
  readonly deliveries = new Counter({
    name: 'eventbus_deliveries_total',
    help: 'Delivery requests to subscribers, by outcome (ok, failed: network or 5xx, rejected: 4xx).',
    labelNames: ['subscriber', 'outcome'],
    registers: [this.registry],
  });
  readonly delivered = new Counter({
    name: 'eventbus_events_delivered_total',
    help: 'Events acknowledged by subscribers.',
    labelNames: ['subscriber'],
    registers: [this.registry],
  });
  readonly parked = new Counter({
    name: 'eventbus_events_parked_total',
    help: 'Events parked after repeated rejections.',
    labelNames: ['subscriber'],
    registers: [this.registry],
  });
  readonly deliverySeconds = new Histogram({
    name: 'eventbus_delivery_seconds',
    help: 'Duration of one delivery request.',
    labelNames: ['subscriber'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
    registers: [this.registry],
  });

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
    const perSubscriber = (name: string, help: string, value: (status: SubscriptionStatus) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['subscriber'],
        registers,
        collect() {
          for (const status of statuses()) this.set({ subscriber: status.name }, value(status));
        },
      });
    perSubscriber(
      'eventbus_subscriber_cursor',
      'Every event up to this seq is dealt with for the subscriber.',
      (status) => status.cursor,
    );
    perSubscriber(
      'eventbus_subscriber_lag',
      'Events between the subscriber cursor and the head.',
      (status) => status.lag,
    );
    perSubscriber(
      'eventbus_subscriber_in_flight',
      'Events in the delivery request under way.',
      (status) => status.inFlight,
    );
    perSubscriber(
      'eventbus_subscriber_attempts',
      'Failed attempts of the current delivery.',
      (status) => status.attempts,
    );
    perSubscriber('eventbus_subscriber_parked', 'Events parked for the subscriber.', (status) => status.parked);
    perSubscriber('eventbus_subscriber_blocked', '1 while the subscriber is blocked on a rejected event.', (status) =>
      status.blockedAt === null ? 0 : 1,
    );
  }
}
