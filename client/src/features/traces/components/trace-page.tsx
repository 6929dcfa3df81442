import type { TraceSpan } from '@mini-blog/common/events';
import { useEffect, useMemo, useState } from 'react';
import { flowEventRoute, Link, useSearchParam } from '../../../app/router';
import { describeFailure } from '../../../lib/api';
import { browserSpans } from '../../../lib/tracing-sdk';
import { fetchTrace, findTrace } from '../api/traces-api';
import { eventsOf, layOut } from '../model/waterfall';
import { TraceWaterfall } from './trace-waterfall';

/** How long the view reads the trace again while its last hops may still come, and how often. */
const FOLLOW_MS = 15_000;
const POLL_MS = 1000;

/**
 * The trace view: every hop of one trace (the browser, the gateway, each service, the log, the live
 * stream) as a waterfall with durations, and the events it published, each a link to the event
 * flow. Opened from a post or a comment (`?event=CommentCreated:<id>`) or by id (`?id=`).
 */
export function TracePage() {
  const eventId = useSearchParam('event');
  const traceIdParam = useSearchParam('id');
  // A new address is a new trace: its view starts afresh.
  return <TraceView key={`${eventId}|${traceIdParam}`} eventId={eventId} traceIdParam={traceIdParam} />;
}

function TraceView({ eventId, traceIdParam }: { eventId: string | null; traceIdParam: string | null }) {
  const [traceId, setTraceId] = useState<string | null>(traceIdParam);
  const [spans, setSpans] = useState<readonly TraceSpan[]>([]);
  const [unreachable, setUnreachable] = useState<readonly string[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [loaded, setLoaded] = useState(false);

  useEffect(() => {
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const started = Date.now();
    const read = async (id: string) => {
      try {
        const answer = await fetchTrace(id, controller.signal);
        const own = browserSpans.trace(id);
        setSpans([...own, ...answer.spans]);
        setUnreachable(answer.unreachable);
        setLoaded(true);
        setError(null);
      } catch (err) {
        if (controller.signal.aborted) return;
        setError(err);
      }
      // A trace grows while its reactions run: read it again for a while.
      if (!controller.signal.aborted && Date.now() - started < FOLLOW_MS)
        timer = setTimeout(() => void read(id), POLL_MS);
    };
    const start = async () => {
      try {
        const id = traceIdParam ?? (eventId === null ? null : await findTrace(eventId, controller.signal));
        if (id === null) return setLoaded(true);
        setTraceId(id);
        await read(id);
      } catch (err) {
        if (!controller.signal.aborted) setError(err);
      }
    };
    void start();
    return () => {
      controller.abort();
      clearTimeout(timer);
    };
  }, [eventId, traceIdParam]);

  const waterfall = useMemo(() => layOut(spans), [spans]);
  const events = useMemo(() => eventsOf(spans), [spans]);
  const subject = eventId?.replace(/^(PostCreated|CommentCreated):/, (_whole, type: string) =>
    type === 'PostCreated' ? 'post ' : 'comment ',
  );

  return (
    <>
      <section className="trace-intro">
        <p>
          {subject ? `The way of ${subject} through the services` : 'One trace through the services'}
          {traceId !== null && (
            <>
              {' '}
              (trace <code className="trace-id">{traceId}</code>)
            </>
          )}
          : each hop with when it started and how long it took. Spans carry names, routes and event ids, never what a
          post or comment says.
        </p>
      </section>
      {error !== null && (
        <p className="notice notice--error" role="alert">
          {describeFailure(error, 'event bus')}
        </p>
      )}
      {eventId === null && traceIdParam === null && (
        <p className="empty-state">Open a trace from a post or a comment: its “Trace” link.</p>
      )}
      {!loaded && error === null && (eventId !== null || traceIdParam !== null) && (
        <p className="placeholder">Loading the trace…</p>
      )}
      {unreachable.length > 0 && (
        <p className="notice" role="status">
          Not shown: the hops of {unreachable.join(', ')}, which did not answer.
        </p>
      )}
      {waterfall.rows.length > 0 && (
        <>
          <section aria-labelledby="hops-heading">
            <h2 id="hops-heading">Hops</h2>
            <ol className="hops" aria-label="Hops in order">
              {waterfall.hops.map((hop, index) => (
                <li key={`${hop}-${index}`} className={`hop hop--${hop.replace(/\s+/g, '-')}`}>
                  {hop}
                </li>
              ))}
            </ol>
          </section>
          <section aria-labelledby="waterfall-heading">
            <h2 id="waterfall-heading">Waterfall</h2>
            <TraceWaterfall waterfall={waterfall} />
          </section>
          <section aria-labelledby="trace-events-heading">
            <h2 id="trace-events-heading">Events it published</h2>
            {events.length === 0 ? (
              <p className="empty-state">None yet.</p>
            ) : (
              <ul className="trace-events">
                {events.map((event) => (
                  <li key={event.seq}>
                    <Link to={flowEventRoute(event.seq)}>
                      #{event.seq} {event.type}
                    </Link>{' '}
                    <span className="trace-events__by">by {event.service}</span>
                  </li>
                ))}
              </ul>
            )}
          </section>
        </>
      )}
    </>
  );
}
