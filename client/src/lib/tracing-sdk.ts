import { BROWSER_SERVICE, SPAN_EXPORT_PATH } from '@mini-blog/common/events/constants';
import { RecentSpans } from '@mini-blog/common/tracing/recent-spans';
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { FetchInstrumentation } from '@opentelemetry/instrumentation-fetch';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { WebTracerProvider } from '@opentelemetry/sdk-trace-web';

/**
 * The browser's part of a trace, with OpenTelemetry's web SDK (loaded after the first render: the
 * app calls it through `./tracing`, which holds none of it): a person's action (publishing a
 * post, adding a comment) is the root span, the API request it makes its child (the fetch
 * instrumentation sends its `traceparent` to the gateway), and a change that arrives on the live
 * stream a span in the trace of the push that sent it. The trace view merges this tab's own spans
 * with what the services kept; and the spans are exported with OTLP/HTTP to `/v1/traces` on this
 * origin, whose server sends them on to the OTLP endpoint the services send theirs to, when one is
 * configured, so that the collector holds each trace from its click.
 */

/** This tab's spans, newest kept. */
export const browserSpans = new RecentSpans(2000);

const tracer = () => trace.getTracer('mini-blog-client');

/**
 * How the spans are sent: every half second (as the services send theirs), in batches that stay far
 * under the relay's body limit (`SPAN_EXPORT_MAX_BYTES`: a fetch's span with its timings is about 2 kB).
 */
const EXPORT_BATCH = { scheduledDelayMillis: 500, maxExportBatchSize: 16 };

/** Requests that are not a person's action: the views' own reads and streams. */
const UNTRACED = [/\/traces(\/|\?|$)/, /\/flow(\/|\?|$)/, /\/subscriptions/, /\/launcher\//, /\/posts\/(feed|stream)/];

let started = false;

/** Starts the browser's tracing; once, as this module has loaded. */
export function startSdk(): void {
  if (started) return;
  started = true;
  const provider = new WebTracerProvider({
    resource: resourceFromAttributes({ 'service.name': BROWSER_SERVICE }),
    spanProcessors: [
      new SimpleSpanProcessor(browserSpans),
      new BatchSpanProcessor(new OTLPTraceExporter({ url: SPAN_EXPORT_PATH }), EXPORT_BATCH),
    ],
  });
  provider.register({ propagator: new W3CTraceContextPropagator() });
  registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [new FetchInstrumentation({ ignoreUrls: UNTRACED })],
  });
}

/**
 * Runs a person's action as the root span of a trace: the request `action` starts (synchronously,
 * before its first await) is its child. Resolves or rejects as `action` does.
 */
export async function tracedAction<T>(name: string, action: () => Promise<T>): Promise<T> {
  const span = tracer().startSpan(name, { kind: SpanKind.INTERNAL, root: true });
  try {
    return await context.with(trace.setSpan(ROOT_CONTEXT, span), action);
  } catch (err) {
    span.setStatus({ code: SpanStatusCode.ERROR });
    throw err;
  } finally {
    span.end();
  }
}

/**
 * A change that came on the live stream, as the last hop of the trace of the push that sent it;
 * `receivedAt` (milliseconds since the epoch) is when it came, which may be before this module loaded.
 */
export function changeReceived(traceparent: string, postId: string, receivedAt: number): void {
  if (!started) return;
  const parent = propagation.extract(ROOT_CONTEXT, { traceparent });
  tracer()
    .startSpan(
      'live change received',
      {
        kind: SpanKind.CONSUMER,
        startTime: receivedAt,
        attributes: { 'messaging.operation.type': 'receive', 'mini_blog.post.id': postId },
      },
      parent,
    )
    .end(receivedAt);
}
