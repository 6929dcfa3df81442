import type { EventType } from '../events/catalog';
import { SERVICE_NAMES, SERVICES, type ServiceName } from '../registry';

/** The service that publishes `type`, as the registry has it. */
function publisherOf(type: EventType): ServiceName {
  const name = SERVICE_NAMES.find((candidate) => (SERVICES[candidate].publishes as readonly string[]).includes(type));
  if (name === undefined) throw new Error(`registry: no service publishes ${type}`);
  return name;
}

/** The read model: the service behind the posts' live stream. */
function liveStreamService(): ServiceName {
  const name = SERVICE_NAMES.find((candidate) =>
    (SERVICES[candidate].routes as readonly { path: string; stream?: boolean }[]).some(
      (route) => route.stream === true && route.path.startsWith('/posts'),
    ),
  );
  if (name === undefined) throw new Error('registry: no service serves the posts’ live stream');
  return name;
}

/**
 * The hops of a new comment's trace on the HTTP bus, in order, as the trace view names them: from
 * the click in the browser to the change on the live stream, the log after each publish. The
 * services come from the registry: who publishes each event of a comment's way, and who streams it.
 */
export const COMMENT_TRACE_HOPS: readonly string[] = [
  'browser',
  'gateway',
  publisherOf('CommentCreated'),
  'log',
  publisherOf('CommentModerated'),
  'log',
  publisherOf('CommentUpdated'),
  'log',
  liveStreamService(),
  'live stream',
];
