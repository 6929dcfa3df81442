import type { SubscriptionStatus } from '../events';

/**
 * A subscriber's line of `GET /subscriptions`, caught up with the log at `cursor` unless
 * `overrides` say otherwise: test data for the readers of that view (the client, blogctl).
 */
export function subscriptionStatus(
  name: string,
  cursor: number,
  overrides: Partial<SubscriptionStatus> = {},
): SubscriptionStatus {
  return {
    name,
    cursor,
    acked: cursor,
    head: cursor,
    lag: 0,
    inFlight: 0,
    attempts: 0,
    parked: 0,
    blockedAt: null,
    lastError: null,
    lastErrorAt: null,
    mode: 'park',
    types: null,
    batch: true,
    ...overrides,
  };
}
