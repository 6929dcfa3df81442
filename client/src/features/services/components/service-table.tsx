import type { DeliveryFaults } from '@mini-blog/common/events';
import { formatClock } from '../../../lib/format';
import type { ProcessAction } from '../api/services-api';
import type { ServiceRow } from '../model/service-rows';

const STATES = { running: 'Up', restarting: 'Restarting', stopped: 'Stopped' } as const;
const ACTIONS: Record<ProcessAction, string> = { start: 'Start', stop: 'Stop', restart: 'Restart' };

function switchesOf(faults: DeliveryFaults): string {
  return (
    [faults.paused && 'paused', faults.latencyMs > 0 && `+${faults.latencyMs} ms`, faults.failing && 'failing']
      .filter(Boolean)
      .join(', ') || '–'
  );
}

/**
 * Each process at a glance: up, ready, restarts (the supervisor's), lag and parked events (the
 * bus's), and the switches set on its deliveries. With the admin credential and the switches on,
 * each row stops, starts and restarts its process.
 */
export function ServiceTable({
  rows,
  act,
  busy,
}: {
  rows: readonly ServiceRow[];
  /** Given when the operator may move the process switches. */
  act?: (name: string, action: ProcessAction) => void;
  busy: boolean;
}) {
  return (
    <div className="table-scroll">
      <table className="event-log services-table">
        <caption className="visually-hidden">Each service: up, ready, restarts, lag and parked events</caption>
        <thead>
          <tr>
            <th scope="col">Service</th>
            <th scope="col">Up</th>
            <th scope="col">Ready</th>
            <th scope="col" className="numeric">
              Restarts
            </th>
            <th scope="col" className="numeric">
              Lag
            </th>
            <th scope="col" className="numeric">
              Parked
            </th>
            <th scope="col">Switches</th>
            {act && <th scope="col">Process</th>}
          </tr>
        </thead>
        <tbody>
          {rows.map(({ name, process, subscription, faults }) => (
            <tr key={name} data-service={name}>
              <th scope="row">{name}</th>
              <td>
                {process === null ? (
                  '–'
                ) : (
                  <span className={`chip ${process.state === 'running' ? 'chip--ok' : 'chip--busy'}`}>
                    {STATES[process.state]}
                  </span>
                )}
                {process?.lastExit && (
                  <span className="services-table__detail">
                    {' '}
                    exited {process.lastExit} at <time dateTime={process.since}>{formatClock(process.since)}</time>
                  </span>
                )}
              </td>
              <td>{process === null ? '–' : process.ready ? 'Ready' : 'Not ready'}</td>
              <td className="numeric">{process?.restarts ?? '–'}</td>
              <td className="numeric">{subscription?.lag ?? '–'}</td>
              <td className={`numeric${subscription && subscription.parked > 0 ? ' warning' : ''}`}>
                {subscription?.parked ?? '–'}
              </td>
              <td>{switchesOf(faults)}</td>
              {act && (
                <td className="services-table__actions">
                  {process &&
                    (process.state === 'stopped' ? ['start' as const] : (['stop', 'restart'] as const)).map(
                      (action) => (
                        <button
                          key={action}
                          type="button"
                          // Start is the one thing to do for a stopped process; stop and restart are secondary.
                          className={action === 'start' ? undefined : 'button--secondary'}
                          disabled={busy}
                          onClick={() => act(name, action)}
                        >
                          {ACTIONS[action]} <span className="visually-hidden">{name}</span>
                        </button>
                      ),
                    )}
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
