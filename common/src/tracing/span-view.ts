import { SpanKind, SpanStatusCode, type AttributeValue, type HrTime } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { TraceSpan } from '../events/public-views';

/**
 * The span attributes the read-only trace store keeps, and so what anyone who reads a trace sees:
 * the route, the status, the event's type, id, seq and subscriber. Nothing else the instrumentations
 * record (addresses, user agents, query strings) is kept; an OTLP collector gets everything, and
 * nothing a service records is content or a secret (no body or header is ever an attribute).
 */
const KEPT_ATTRIBUTES = new Set([
  'http.request.method',
  'http.method',
  'http.response.status_code',
  'http.status_code',
  'http.route',
  'url.path',
  'messaging.system',
  'messaging.operation.type',
  'messaging.destination.name',
  'messaging.message.id',
  'messaging.batch.message_count',
  'mini_blog.event.seq',
  'mini_blog.event.type',
  'mini_blog.post.id',
  'mini_blog.comment.id',
  'mini_blog.live.clients',
]);

const KINDS: Record<SpanKind, TraceSpan['kind']> = {
  [SpanKind.INTERNAL]: 'internal',
  [SpanKind.SERVER]: 'server',
  [SpanKind.CLIENT]: 'client',
  [SpanKind.PRODUCER]: 'producer',
  [SpanKind.CONSUMER]: 'consumer',
};

const toMs = ([seconds, nanos]: HrTime): number => seconds * 1000 + nanos / 1e6;

function scalar(value: AttributeValue | undefined): string | number | boolean | undefined {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? value : undefined;
}

/** A finished span as the trace store keeps it: plain JSON, its attributes cut down to `KEPT_ATTRIBUTES`. */
export function toTraceSpan(span: ReadableSpan): TraceSpan {
  const { traceId, spanId } = span.spanContext();
  const attributes: Record<string, string | number | boolean> = {};
  for (const [key, value] of Object.entries(span.attributes)) {
    const kept = KEPT_ATTRIBUTES.has(key) ? scalar(value) : undefined;
    if (kept !== undefined) attributes[key] = kept;
  }
  const parent = span.parentSpanContext;
  return {
    traceId,
    spanId,
    ...(parent && parent.traceId === traceId ? { parentSpanId: parent.spanId } : {}),
    service: String(span.resource.attributes['service.name'] ?? 'unknown'),
    name: span.name,
    kind: KINDS[span.kind],
    start: toMs(span.startTime),
    duration: toMs(span.duration),
    status: span.status.code === SpanStatusCode.ERROR ? 'error' : 'ok',
    attributes,
    links: span.links.map((link) => ({ traceId: link.context.traceId, spanId: link.context.spanId })),
  };
}
