import { useState } from 'react';
import { describeFailure } from '../../../lib/api';
import { switches, type ProcessAction } from '../api/services-api';
import { useAdminToken } from '../hooks/use-admin-token';
import { useServices } from '../hooks/use-services';
import { serviceRows } from '../model/service-rows';
import { BreakItPanel } from './break-it-panel';
import { ServiceTable } from './service-table';

export function ServicesPage() {
  const services = useServices();
  const admin = useAdminToken();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const { supervisor } = services;
  const rows = serviceRows(supervisor ?? null, services.subscriptions);
  const switchesOn = supervisor?.switches === true;

  const run = (change: () => Promise<unknown>) => {
    setBusy(true);
    change()
      .then(
        () => setError(null),
        (err: unknown) => setError(err),
      )
      .finally(() => {
        setBusy(false);
        services.refresh();
      });
  };
  const act =
    switchesOn && admin.token !== null
      ? (name: string, action: ProcessAction) => run(() => switches.process(admin.token!, name, action))
      : undefined;

  return (
    <>
      <section className="flow-intro">
        <div className="section-header">
          {supervisor && (
            <p className="section-header__note">
              {supervisor.transport === 'jetstream' ? 'On NATS JetStream' : 'On the event bus'}, updated every second
            </p>
          )}
        </div>
        <p>
          Each service as the launcher runs it (restarted, as Kubernetes would, whenever it exits), and how far behind
          the log its deliveries are. Nothing here shows what a post or comment says.
        </p>
        {supervisor === null && (
          <p className="notice">
            There is no launcher here (on Kubernetes, ask the cluster: <code>kubectl blog status</code>); the lag and
            parked events below come from the bus.
          </p>
        )}
        {services.supervisorError !== null && (
          <p className="notice notice--error" role="alert">
            {describeFailure(services.supervisorError, 'launcher')}
          </p>
        )}
        {services.subscriptionsError !== null && (
          <p className="notice notice--error" role="alert">
            {describeFailure(services.subscriptionsError, 'event bus')}
          </p>
        )}
      </section>

      <section aria-labelledby="services-heading">
        <h2 id="services-heading" className="visually-hidden">
          Every service
        </h2>
        {supervisor === undefined && services.supervisorError === null ? (
          <p className="placeholder">Looking at the services…</p>
        ) : (
          <ServiceTable rows={rows} act={act} busy={busy} />
        )}
      </section>

      {switchesOn && (
        <BreakItPanel
          rows={rows}
          faults={supervisor?.faults}
          token={admin.token}
          keep={admin.keep}
          forget={admin.forget}
          run={run}
          busy={busy}
          error={error}
        />
      )}
    </>
  );
}
