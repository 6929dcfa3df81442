import type { PublicEvent } from '@mini-blog/common/events';
import { useEffect, useState } from 'react';
import { traceRouteById } from '../../../app/router';
import { Link, ROUTES } from '../../../app/router';
import { describeFailure } from '../../../lib/api';
import { formatClock } from '../../../lib/format';
import { fetchEvent } from '../api/flow-api';

/** Where an event's payload leads: the post it is about, and the comment. */
function subjectLinks(event: PublicEvent) {
  const { data } = event;
  const postId = 'postId' in data ? data.postId : data.id;
  return (
    <>
      <a href={`${ROUTES.posts}#post-${encodeURIComponent(postId)}`}>Its post</a>
      {'postId' in data && (
        <>
          {' · '}
          <a href={`${ROUTES.posts}#comment-${encodeURIComponent(data.id)}`}>Its comment</a>
        </>
      )}
    </>
  );
}

/**
 * One event of the log, read on demand: who published it, its payload as the public may see it,
 * and links to its trace, its post and its comment.
 */
export function EventDetail({ seq, headingLevel = 2 }: { seq: number; headingLevel?: 2 | 3 }) {
  const [event, setEvent] = useState<PublicEvent | null>(null);
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    const controller = new AbortController();
    fetchEvent(seq, controller.signal).then(setEvent, (err: unknown) => {
      if (!controller.signal.aborted) setError(err);
    });
    return () => controller.abort();
  }, [seq]);

  const Heading = headingLevel === 2 ? 'h2' : 'h3';
  return (
    <section className="card event-detail" aria-labelledby={`event-${seq}-heading`} data-event-seq={seq}>
      <Heading id={`event-${seq}-heading`}>
        Event #{seq}
        {event && ` · ${event.type}`}
      </Heading>
      {error !== null && (
        <p className="notice notice--error" role="alert">
          {describeFailure(error, 'event bus')}
        </p>
      )}
      {event === null && error === null && <p className="placeholder">Loading the event…</p>}
      {event && (
        <>
          <dl className="event-detail__meta">
            <div>
              <dt>Published by</dt>
              <dd>{event.publisher ?? 'unknown'}</dd>
            </div>
            <div>
              <dt>Stored at</dt>
              <dd>
                <time dateTime={event.time}>{formatClock(event.time)}</time>
              </dd>
            </div>
            <div>
              <dt>Id</dt>
              <dd className="event-detail__id">{event.id}</dd>
            </div>
          </dl>
          <p className="event-detail__links">
            {subjectLinks(event)}
            {event.traceId !== undefined && (
              <>
                {' · '}
                <Link to={traceRouteById(event.traceId)}>Its trace</Link>
              </>
            )}
          </p>
          <pre className="event-detail__payload" tabIndex={0} aria-label={`Payload of event ${seq}`}>
            {JSON.stringify(event.data, null, 2)}
          </pre>
        </>
      )}
    </section>
  );
}
