import { ConnectionStatus } from '../../../components/connection-status';
import { describeFailure } from '../../../lib/api';
import { useEventFlow } from '../hooks/use-event-flow';
import { FLOW_WINDOW } from '../model/flow-state';
import { useSearchParam } from '../../../app/router';
import { EventDetail } from './event-detail';
import { EventLog } from './event-log';
import { SubscriberList } from './subscriber-list';

export function EventFlowPage() {
  const flow = useEventFlow();
  const seqParam = useSearchParam('seq');
  const selectedSeq =
    seqParam !== null && /^\d{1,15}$/.test(seqParam) && Number(seqParam) > 0 ? Number(seqParam) : null;
  return (
    <>
      <section className="flow-intro">
        <div className="section-header">
          <p>
            Every service publishes to the event bus, which stores each event in its log and hands it to each subscriber
            in order. Each event shows who published it; its payload is shown on demand, as anyone may see it (never
            what a pending or rejected comment says).
          </p>
          <ConnectionStatus status={flow.status} service="event bus" />
        </div>
      </section>

      {selectedSeq !== null && <EventDetail key={selectedSeq} seq={selectedSeq} />}

      <section aria-labelledby="subscribers-heading">
        <h2 id="subscribers-heading">Subscribers</h2>
        {flow.subscriptionsError !== null && (
          <p className="notice notice--error" role="alert">
            {describeFailure(flow.subscriptionsError, 'event bus')}
          </p>
        )}
        {flow.subscriptionsLoaded && flow.subscriptions.length === 0 && (
          <p className="empty-state">No subscribers are configured on the bus.</p>
        )}
        {!flow.subscriptionsLoaded && flow.subscriptionsError === null && (
          <p className="placeholder">Loading subscribers…</p>
        )}
        <SubscriberList subscriptions={flow.subscriptions} head={flow.head} />
      </section>

      <section aria-labelledby="log-heading">
        <div className="section-header">
          <h2 id="log-heading">Log</h2>
          <p className="section-header__note">
            {flow.head === 0 ? 'Empty' : `${flow.head} events, the newest ${Math.min(flow.head, FLOW_WINDOW)} shown`}
          </p>
        </div>
        {flow.logError !== null && (
          <p className="notice notice--error" role="alert">
            {describeFailure(flow.logError, 'event bus')}
          </p>
        )}
        {!flow.logLoaded && flow.logError === null && <p className="placeholder">Loading the log…</p>}
        {flow.logLoaded && flow.events.length === 0 && (
          <p className="empty-state">The log is empty. Publish a post and watch its events arrive here.</p>
        )}
        {flow.events.length > 0 && <EventLog events={flow.events} subscriptions={flow.subscriptions} />}
      </section>
    </>
  );
}
