import type { EventMeta, SubscriptionStatus } from '@mini-blog/common/events';
import { Fragment, useState } from 'react';
import { Link, traceRouteById } from '../../../app/router';
import { formatClock } from '../../../lib/format';
import { deliveryOf, type DeliveryState } from '../model/flow-state';
import { EventDetail } from './event-detail';

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
  const [open, setOpen] = useState<ReadonlySet<number>>(new Set());
  const toggle = (seq: number) =>
    setOpen((before) => {
      const after = new Set(before);
      if (!after.delete(seq)) after.add(seq);
      return after;
    });
  const columns = 5 + subscriptions.length;
  return (
    <div className="table-scroll" tabIndex={0} role="region" aria-label="Event log">
      <table className="event-log">
        <thead>
          <tr>
            <th scope="col">Seq</th>
            <th scope="col">Type</th>
            <th scope="col">Publisher</th>
            <th scope="col">Time</th>
            {subscriptions.map((subscription) => (
              <th scope="col" key={subscription.name} className="event-log__subscriber">
                {subscription.name}
              </th>
            ))}
            <th scope="col">Id</th>
            <th scope="col">
              <span className="visually-hidden">Payload and trace</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {events.map((event) => (
            <Fragment key={event.seq}>
              <tr data-seq={event.seq}>
                <td className="numeric">{event.seq}</td>
                <td>
                  <span className={`event-type event-type--${event.type}`}>{event.type}</span>
                </td>
                <td className="event-log__publisher">{event.publisher ?? '–'}</td>
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
                <td className="event-log__actions">
                  <button
                    type="button"
                    className="button--link"
                    aria-expanded={open.has(event.seq)}
                    aria-controls={`event-${event.seq}-detail`}
                    onClick={() => toggle(event.seq)}
                  >
                    Payload<span className="visually-hidden"> of event {event.seq}</span>
                  </button>
                  {event.traceId !== undefined && (
                    <Link to={traceRouteById(event.traceId)} className="trace-link">
                      Trace<span className="visually-hidden"> of event {event.seq}</span>
                    </Link>
                  )}
                </td>
              </tr>
              {open.has(event.seq) && (
                <tr id={`event-${event.seq}-detail`} className="event-log__detail">
                  <td colSpan={columns}>
                    <EventDetail seq={event.seq} headingLevel={3} />
                  </td>
                </tr>
              )}
            </Fragment>
          ))}
        </tbody>
      </table>
    </div>
  );
}
