import type { StreamStatus } from '../lib/api';

const LABELS: Record<StreamStatus, string> = {
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
};

/**
 * Tells whether updates arrive by themselves. When they cannot, the explanation floats over the
 * bottom of the page instead of pushing the content down.
 */
export function ConnectionStatus({ status, service }: { status: StreamStatus; service: string }) {
  const detail = `Lost the live connection to the ${service} service; changes will show up once it is back.`;
  return (
    <>
      <p className={`connection connection--${status}`} role="status">
        <span className="connection__dot" aria-hidden="true" />
        <span>{LABELS[status]}</span>
        {status === 'reconnecting' && <span className="visually-hidden"> {detail}</span>}
      </p>
      {status === 'reconnecting' && (
        <p className="toast" aria-hidden="true">
          {detail}
        </p>
      )}
    </>
  );
}
