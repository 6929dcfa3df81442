import type { TraceAnswer } from '@mini-blog/common/events';
import { query, requestJson } from '../../../lib/api';

/** The trace in which an event was published (`PostCreated:<id>`, `CommentCreated:<id>`), while the services keep it. */
export async function findTrace(eventId: string, signal?: AbortSignal): Promise<string> {
  return (await requestJson<{ traceId: string }>('GET', `/traces${query({ event: eventId })}`, { signal })).traceId;
}

/** A trace as every service keeps it, gathered by the bus's views. */
export function fetchTrace(traceId: string, signal?: AbortSignal): Promise<TraceAnswer> {
  return requestJson<TraceAnswer>('GET', `/traces/${encodeURIComponent(traceId)}`, { signal });
}
