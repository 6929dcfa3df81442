import { RecentSpans } from '@mini-blog/common/tracing/recent-spans';
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { FetchInstrumentation } from '@opentelemetry/instrumentation-fetch';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { WebTracerProvider } from '@opentelemetry/sdk-trace-web';

/**
 * The browser's part of a trace, with OpenTelemetry's web SDK: a person's action (publishing a
 * post, adding a comment) is the root span, the API request it makes its child (the fetch
 * instrumentation sends its `traceparent` to the gateway), and a change that arrives on the live
 * stream a span in the trace of the push that sent it. The browser's spans stay in this tab (the
 * trace view merges them with what the services kept); nothing is sent anywhere.
 */

/** This tab's spans, newest kept. */
export const browserSpans = new RecentSpans(2000);

const tracer = () => trace.getTracer('mini-blog-client');

/** Requests that are not a person's action: the views' own reads and streams. */
const UNTRACED = [/\/traces(\/|\?|$)/, /\/flow(\/|\?|$)/, /\/subscriptions/, /\/launcher\//, /\/posts\/(feed|stream)/];

let started = false;

/** Starts the browser's tracing; once, before the app renders. */
export function startBrowserTracing(): void {
  if (started) return;
  started = true;
  const provider = new WebTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'browser' }),
    spanProcessors: [new SimpleSpanProcessor(browserSpans)],
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

/** A change that came on the live stream, as the last hop of the trace of the push that sent it. */
export function changeReceived(traceparent: string | undefined, postId: string): void {
  if (traceparent === undefined || !started) return;
  const parent = propagation.extract(ROOT_CONTEXT, { traceparent });
  tracer()
    .startSpan(
      'live change received',
      { kind: SpanKind.CONSUMER, attributes: { 'messaging.operation.type': 'receive', 'mini_blog.post.id': postId } },
      parent,
    )
    .end();
}
