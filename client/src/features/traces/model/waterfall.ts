import type { TraceSpan } from '@mini-blog/common/events';

/** One row of the waterfall: a span, how deep it sits under the trace's root, and where its bar lies. */
export interface WaterfallRow {
  readonly span: TraceSpan;
  readonly depth: number;
  /** Start and width, in percent of the whole trace. */
  readonly offset: number;
  readonly width: number;
}

export interface Waterfall {
  readonly rows: readonly WaterfallRow[];
  /** From the first span's start to the last one's end, in milliseconds. */
  readonly total: number;
  /** The processes in the order the trace reached them, each once per visit: browser → gateway → comments → log → … */
  readonly hops: readonly string[];
}

/** The bus's process is the log; on JetStream the log is the publish itself, which the publishing service records. */
export function hopName(span: TraceSpan): string {
  return span.service === 'event-bus' ? 'log' : span.service;
}

/**
 * Lays a trace out as a waterfall: spans in the order they started (a child right after its
 * parent's earlier children), indented by depth, bars to the scale of the whole trace.
 */
export function layOut(spans: readonly TraceSpan[]): Waterfall {
  if (spans.length === 0) return { rows: [], total: 0, hops: [] };
  const byStart = [...spans].sort((a, b) => a.start - b.start || a.duration - b.duration);
  const ids = new Set(byStart.map((span) => span.spanId));
  const children = new Map<string, TraceSpan[]>();
  const roots: TraceSpan[] = [];
  for (const span of byStart) {
    if (span.parentSpanId !== undefined && ids.has(span.parentSpanId)) {
      const siblings = children.get(span.parentSpanId) ?? [];
      siblings.push(span);
      children.set(span.parentSpanId, siblings);
    } else {
      roots.push(span);
    }
  }
  const first = byStart[0]!.start;
  const total = Math.max(1, Math.max(...byStart.map((span) => span.start + span.duration)) - first);
  const rows: WaterfallRow[] = [];
  const visit = (span: TraceSpan, depth: number) => {
    rows.push({
      span,
      depth,
      offset: ((span.start - first) / total) * 100,
      width: Math.max(0.5, (span.duration / total) * 100),
    });
    for (const child of children.get(span.spanId) ?? []) visit(child, depth + 1);
  };
  for (const root of roots) visit(root, 0);
  return { rows, total, hops: hopsOf(byStart) };
}

/**
 * The hops of the trace's longest chain: from its root to the span that came last (the browser's
 * receipt of the last change, when it has one), each process named once per visit, and `log`
 * after each publish (the bus's store of the event, or JetStream's).
 */
export function hopsOf(byStart: readonly TraceSpan[]): string[] {
  const byId = new Map(byStart.map((span) => [span.spanId, span]));
  const received = byStart.filter((span) => span.name === 'live change received');
  const last = received.at(-1) ?? [...byStart].sort((a, b) => a.start + a.duration - (b.start + b.duration)).at(-1);
  const chain: TraceSpan[] = [];
  for (let span = last; span !== undefined; span = span.parentSpanId ? byId.get(span.parentSpanId) : undefined)
    chain.unshift(span);
  const hops: string[] = [];
  const add = (hop: string) => {
    if (hops.at(-1) !== hop) hops.push(hop);
  };
  for (const span of chain) {
    add(span.name === 'live change received' ? 'live stream' : hopName(span));
    if (span.kind === 'producer' && span.name.startsWith('publish ')) add('log');
  }
  return hops;
}

/** The events a trace published: the seq and id each producer span recorded. */
export function eventsOf(spans: readonly TraceSpan[]): { seq: number; id: string; type: string; service: string }[] {
  return spans
    .filter((span) => span.kind === 'producer' && typeof span.attributes['mini_blog.event.seq'] === 'number')
    .map((span) => ({
      seq: span.attributes['mini_blog.event.seq'] as number,
      id: String(span.attributes['messaging.message.id'] ?? ''),
      type: String(span.attributes['mini_blog.event.type'] ?? ''),
      service: span.service,
    }))
    .sort((a, b) => a.seq - b.seq);
}

/** A duration as people read it: `0.4 ms`, `12 ms`, `1.25 s`. */
export function formatDuration(ms: number): string {
  if (ms < 1) return `${ms.toFixed(1)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(2)} s`;
}
