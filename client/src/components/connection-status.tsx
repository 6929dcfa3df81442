import type { StreamStatus } from '../lib/api';

const LABELS: Record<StreamStatus, string> = {
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
};

/** Tells whether updates arrive by themselves, and says so when they cannot. */
export function ConnectionStatus({ status, service }: { status: StreamStatus; service: string }) {
  return (
    <p className={`connection connection--${status}`} role="status">
      <span className="connection__dot" aria-hidden="true" />
      <span>{LABELS[status]}</span>
      {status === 'reconnecting' && (
        <span className="connection__detail">
          Lost the live connection to the {service} service; changes will show up once it is back.
        </span>
      )}
    </p>
  );
}
