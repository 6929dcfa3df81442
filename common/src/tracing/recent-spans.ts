import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { TraceSpan } from '../events/public-views';
import { toTraceSpan } from './span-view';

/** Spans kept per process by default: a few minutes of a busy blog, a few megabytes. */
export const DEFAULT_RECENT_SPANS = 20_000;

/**
 * The local default of trace export: the newest spans of this process, in memory, at most `capacity`
 * (the oldest go first), found by trace id or by the id of an event published in the trace. Fed
 * by the SDK's span processor like any exporter; read by the process's `GET /traces` route.
 */
export class RecentSpans implements SpanExporter {
  /** A ring: span number n (counted from the first ever kept) is at `n % capacity`. */
  private readonly ring: (TraceSpan | undefined)[];
  private added = 0;
  private readonly byTrace = new Map<string, number[]>();
  private readonly traceOfEvent = new Map<string, string>();

  constructor(readonly capacity = DEFAULT_RECENT_SPANS) {
    this.ring = new Array<TraceSpan | undefined>(capacity);
  }

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    for (const span of spans) this.add(toTraceSpan(span));
    done({ code: ExportResultCode.SUCCESS });
  }

  async shutdown(): Promise<void> {}

  async forceFlush(): Promise<void> {}

  add(span: TraceSpan): void {
    const number = this.added;
    const evicted = this.ring[number % this.capacity];
    if (evicted) this.forget(evicted);
    this.ring[number % this.capacity] = span;
    this.added += 1;
    const ofTrace = this.byTrace.get(span.traceId);
    if (ofTrace) ofTrace.push(number);
    else this.byTrace.set(span.traceId, [number]);
    const eventId = span.attributes['messaging.message.id'];
    if (typeof eventId === 'string' && span.kind === 'producer') this.traceOfEvent.set(eventId, span.traceId);
  }

  /** Every span of a trace this process still holds, in the order they ended. */
  trace(traceId: string): TraceSpan[] {
    return (this.byTrace.get(traceId) ?? []).map((number) => this.ring[number % this.capacity]!);
  }

  /** The traces of which some span is kept. */
  traceIds(): IterableIterator<string> {
    return this.byTrace.keys();
  }

  /** The trace in which an event was published, while this process holds its publish. */
  traceOf(eventId: string): string | undefined {
    return this.traceOfEvent.get(eventId);
  }

  get size(): number {
    return Math.min(this.added, this.capacity);
  }

  /** The oldest span goes: it is the first of its trace's list, since spans are added in order. */
  private forget(span: TraceSpan): void {
    const ofTrace = this.byTrace.get(span.traceId);
    ofTrace?.shift();
    if (ofTrace?.length === 0) this.byTrace.delete(span.traceId);
    const eventId = span.attributes['messaging.message.id'];
    if (typeof eventId === 'string' && this.traceOfEvent.get(eventId) === span.traceId)
      this.traceOfEvent.delete(eventId);
  }
}
