import type { SubscriptionStatus } from '@mini-blog/common/events';
import { formatClock } from '../../../lib/format';
import { lagOf } from '../model/flow-state';

export function SubscriberList({
  subscriptions,
  head,
}: {
  subscriptions: readonly SubscriptionStatus[];
  head: number;
}) {
  return (
    <ul className="subscribers" aria-label="Subscribers">
      {subscriptions.map((subscription) => {
        const lag = lagOf(subscription, head);
        return (
          <li key={subscription.name} className="card subscriber" data-subscriber={subscription.name}>
            <div className="subscriber__header">
              <h3>{subscription.name}</h3>
              <span className={`chip ${lag === 0 ? 'chip--ok' : 'chip--busy'}`}>
                {lag === 0 ? 'Caught up' : `${lag} behind`}
              </span>
            </div>
            <dl className="subscriber__stats">
              {(
                [
                  ['Cursor', subscription.cursor],
                  ['Lag', lag],
                  ['In flight', subscription.inFlight],
                  ['Retries', subscription.attempts],
                  ['Parked', subscription.parked, subscription.parked > 0 ? 'warning' : undefined],
                ] as const
              ).map(([term, value, className]) => (
                <div key={term}>
                  <dt>{term}</dt>
                  <dd className={className}>{value}</dd>
                </div>
              ))}
            </dl>
            {subscription.types !== null && subscription.types.length > 0 && (
              <p className="subscriber__types">Takes {subscription.types.join(', ')}</p>
            )}
            <p className="subscriber__error">
              {subscription.lastError === null ? (
                'No errors'
              ) : (
                <>
                  Last error
                  {subscription.lastErrorAt !== null && (
                    <>
                      {' at '}
                      <time dateTime={subscription.lastErrorAt}>{formatClock(subscription.lastErrorAt)}</time>
                    </>
                  )}
                  : {subscription.lastError}
                </>
              )}
            </p>
          </li>
        );
      })}
    </ul>
  );
}
