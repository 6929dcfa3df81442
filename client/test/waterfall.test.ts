import type { TraceSpan } from '@mini-blog/common/events';
import { COMMENT_TRACE_HOPS } from '@mini-blog/common/testing/browser';
import { eventsOf, formatDuration, hopsOf, layOut } from '../src/features/traces/model/waterfall';

let next = 0;
function span(
  service: string,
  name: string,
  start: number,
  duration: number,
  parent?: TraceSpan,
  extra: Partial<TraceSpan> = {},
): TraceSpan {
  next += 1;
  return {
    traceId: 'a'.repeat(32),
    spanId: next.toString(16).padStart(16, '0'),
    ...(parent ? { parentSpanId: parent.spanId } : {}),
    service,
    name,
    kind: 'internal',
    start,
    duration,
    status: 'ok',
    attributes: {},
    links: [],
    ...extra,
  };
}

/** A new comment's trace, as the services record it on the HTTP bus. */
function commentTrace(): TraceSpan[] {
  const click = span('browser', 'add comment', 0, 60);
  const gateway = span('gateway', 'POST gateway → comments', 2, 50, click, { kind: 'server' });
  const request = span('comments', 'POST /posts/:id/comments', 4, 45, gateway, { kind: 'server' });
  const created = span('comments', 'publish CommentCreated', 5, 40, request, {
    kind: 'producer',
    attributes: {
      'mini_blog.event.seq': 7,
      'messaging.message.id': 'CommentCreated:c1',
      'mini_blog.event.type': 'CommentCreated',
    },
  });
  const stored = span('event-bus', 'POST /events', 6, 38, created, { kind: 'server' });
  const queryCreated = span('query', 'process CommentCreated', 50, 1, created, { kind: 'consumer' });
  const moderation = span('moderation', 'process CommentCreated', 55, 1, created, { kind: 'consumer' });
  const moderated = span('moderation', 'publish CommentModerated', 56, 20, moderation, {
    kind: 'producer',
    attributes: { 'mini_blog.event.seq': 8, 'mini_blog.event.type': 'CommentModerated' },
  });
  const comments = span('comments', 'process CommentModerated', 80, 1, moderated, { kind: 'consumer' });
  const updated = span('comments', 'publish CommentUpdated', 81, 20, comments, { kind: 'producer' });
  const query = span('query', 'process CommentUpdated', 105, 1, updated, { kind: 'consumer' });
  const push = span('query', 'push change', 106, 0.2, query, { kind: 'producer' });
  const received = span('browser', 'live change received', 110, 0.1, push, { kind: 'consumer' });
  return [
    received,
    queryCreated,
    stored,
    click,
    gateway,
    request,
    created,
    moderation,
    moderated,
    comments,
    updated,
    query,
    push,
  ];
}

describe('the trace waterfall', () => {
  it("names the hops of the trace's longest chain in order, the log after each publish", () => {
    expect(hopsOf(commentTrace())).toEqual(COMMENT_TRACE_HOPS);
  });

  it('puts each span under its parent, its bar on the scale of the whole trace', () => {
    const { rows, total } = layOut(commentTrace());

    expect(total).toBeCloseTo(110.1);
    expect(rows[0]).toMatchObject({ depth: 0, offset: 0 });
    expect(rows[0]!.span.name).toBe('add comment');
    expect(rows.map((row) => `${row.depth} ${row.span.name}`).slice(1, 6)).toEqual([
      '1 POST gateway → comments',
      '2 POST /posts/:id/comments',
      '3 publish CommentCreated',
      '4 POST /events',
      '4 process CommentCreated',
    ]);
    const last = rows.at(-1)!;
    expect(last.offset + last.width).toBeLessThanOrEqual(100.5);
  });

  it('lists the events the trace published, by seq', () => {
    expect(eventsOf(commentTrace())).toEqual([
      { seq: 7, id: 'CommentCreated:c1', type: 'CommentCreated', service: 'comments' },
      { seq: 8, id: '', type: 'CommentModerated', service: 'moderation' },
    ]);
  });

  it('writes durations as people read them', () => {
    expect([0.42, 12.4, 1250].map(formatDuration)).toEqual(['0.4 ms', '12 ms', '1.25 s']);
  });
});
