import type { EventMeta, SubscriptionStatus } from '@mini-blog/common/events';
import { formatClock } from '../../../lib/format';
import { deliveryOf, type DeliveryState } from '../model/flow-state';

const MARKS: Record<DeliveryState, { symbol: string; label: string }> = {
  delivered: { symbol: '✓', label: 'delivered' },
  pending: { symbol: '…', label: 'not delivered yet' },
  'not-subscribed': { symbol: '–', label: 'not subscribed' },
};

export function EventLog({
  events,
  subscriptions,
}: {
  events: readonly EventMeta[];
  subscriptions: readonly SubscriptionStatus[];
}) {
  return (
    <div className="table-scroll" tabIndex={0} role="region" aria-label="Event log">
      <table className="event-log">
        <thead>
          <tr>
            <th scope="col">Seq</th>
            <th scope="col">Type</th>
            <th scope="col">Time</th>
            {subscriptions.map((subscription) => (
              <th scope="col" key={subscription.name} className="event-log__subscriber">
                {subscription.name}
              </th>
            ))}
            <th scope="col">Id</th>
          </tr>
        </thead>
        <tbody>
          {events.map((event) => (
            <tr key={event.seq} data-seq={event.seq}>
              <td className="numeric">{event.seq}</td>
              <td>
                <span className={`event-type event-type--${event.type}`}>{event.type}</span>
              </td>
              <td>
                <time dateTime={event.time}>{formatClock(event.time)}</time>
              </td>
              {subscriptions.map((subscription) => {
                const state = deliveryOf(subscription, event);
                return (
                  <td key={subscription.name} className={`delivery delivery--${state}`}>
                    <span aria-hidden="true">{MARKS[state].symbol}</span>
                    <span className="visually-hidden">
                      {subscription.name}: {MARKS[state].label}
                    </span>
                  </td>
                );
              })}
              <td className="event-log__id" title={event.id}>
                {event.id}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
