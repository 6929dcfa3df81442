/**
 * The hops of a new comment's trace on the HTTP bus, in order, as the trace view names them: from
 * the click in the browser to the change on the live stream, the log after each publish.
 */
export const COMMENT_TRACE_HOPS: readonly string[] = [
  'browser',
  'gateway',
  'comments',
  'log',
  'moderation',
  'log',
  'comments',
  'log',
  'query',
  'live stream',
];
