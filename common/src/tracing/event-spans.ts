import {
  context,
  createContextKey,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
  type SpanContext,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import type { Envelope, NewEvent } from '../events';
import type { EventTransport } from '../transport/transport';
import type { DeliverySink, PublishResult } from '../transport/types';

/**
 * The event chain's spans, hooked around the transport and the reducer and nowhere else: a publish
 * is a producer span whose context travels in the event (`traceparent`); a consumer's handling of
 * the event is a consumer span, its child, in which the reducer runs, so that the reactions it
 * returns carry that context in turn. A delivery of events of several traces is a span of its own,
 * linked to each.
 */

const tracer = () => trace.getTracer('mini-blog');

/** Marks the context of a live delivery: the reducer traces what it applies there, and nowhere else. */
const LIVE_DELIVERY = createContextKey('mini-blog live delivery');
const w3c = new W3CTraceContextPropagator();

/** A traceparent as the context of a remote parent; the active context when there is none. */
function contextOf(traceparent: string | undefined): Context {
  if (traceparent === undefined) return context.active();
  return w3c.extract(
    ROOT_CONTEXT,
    { traceparent },
    { get: (carrier, key) => carrier[key as 'traceparent'], keys: () => ['traceparent'] },
  );
}

function spanContextOf(traceparent: string | undefined): SpanContext | undefined {
  return traceparent === undefined ? undefined : trace.getSpanContext(contextOf(traceparent));
}

/** The traceparent of a span; undefined for a span that is not recorded (tracing off). */
export function traceparentOf(span: Span): string | undefined {
  const carrier: Record<string, string> = {};
  w3c.inject(trace.setSpan(ROOT_CONTEXT, span), carrier, { set: (target, key, value) => (target[key] = value) });
  return span.isRecording() ? carrier.traceparent : undefined;
}

/** What the spans of an event say about it: its type and id, and the post or comment it is about. */
function eventAttributes(event: NewEvent | Envelope, system: string): Attributes {
  const data = event.data as { id: string; postId?: string };
  return {
    'messaging.system': system,
    'messaging.destination.name': event.type,
    'mini_blog.event.type': event.type,
    ...(event.id === undefined ? {} : { 'messaging.message.id': event.id }),
    ...('seq' in event ? { 'mini_blog.event.seq': event.seq } : {}),
    ...(data.postId === undefined
      ? { 'mini_blog.post.id': data.id }
      : { 'mini_blog.post.id': data.postId, 'mini_blog.comment.id': data.id }),
  };
}

function fail(span: Span, err: unknown): never {
  span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
  span.end();
  throw err;
}

interface StartedPublish {
  readonly span: Span;
  readonly event: NewEvent;
}

function startPublish(event: NewEvent, system: string): StartedPublish {
  const span = tracer().startSpan(
    `publish ${event.type}`,
    { kind: SpanKind.PRODUCER, attributes: { ...eventAttributes(event, system), 'messaging.operation.type': 'send' } },
    contextOf(event.traceparent),
  );
  const traceparent = traceparentOf(span);
  return { span, event: traceparent === undefined ? event : { ...event, traceparent } };
}

function endPublish({ span }: StartedPublish, result: PublishResult): void {
  span.setAttributes({ 'messaging.message.id': result.id, 'mini_blog.event.seq': result.seq });
  span.end();
}

/**
 * The transport, traced: each publish a producer span (the child of the event's cause, when the
 * event names one, as a reaction does), its context in the event; a live delivery of events of
 * several traces a consumer span linked to each (the handling of each is the child of its own publish).
 */
export function tracedTransport(transport: EventTransport, system: string): EventTransport {
  return {
    ...transport,
    publish: async (event, options) => {
      const started = startPublish(event, system);
      const result = await context
        .with(trace.setSpan(context.active(), started.span), () => transport.publish(started.event, options))
        .catch((err: unknown) => fail(started.span, err));
      endPublish(started, result);
      return result;
    },
    publishBatch: async (events) => {
      const started = events.map((event) => startPublish(event, system));
      const traces = new Set(started.map(({ span }) => span.spanContext().traceId));
      // One request carries the batch: under the publish of its trace, or a span of its own linked to each.
      const batch =
        traces.size > 1
          ? tracer().startSpan(`publish ${events.length} events`, {
              kind: SpanKind.PRODUCER,
              root: true,
              links: started.map(({ span }) => ({ context: span.spanContext() })),
              attributes: { 'messaging.system': system, 'messaging.batch.message_count': events.length },
            })
          : undefined;
      const parent = batch ?? started[0]?.span;
      let results: readonly PublishResult[];
      try {
        const send = () => transport.publishBatch(started.map(({ event }) => event));
        results = parent ? await context.with(trace.setSpan(context.active(), parent), send) : await send();
      } catch (err) {
        for (const { span } of started) span.setStatus({ code: SpanStatusCode.ERROR });
        started.forEach(({ span }) => span.end());
        return batch ? fail(batch, err) : Promise.reject(err);
      }
      started.forEach((publish, index) => endPublish(publish, results[index]!));
      batch?.end();
      return results;
    },
    connect: (sink) => transport.connect(tracedSink(sink, system)),
  };
}

/** The engine, its deliveries in a consumer span each (see `tracedTransport`); everything else as it is. */
function tracedSink(sink: DeliverySink, system: string): DeliverySink {
  const deliver: DeliverySink['deliver'] = async (events, cursor) => {
    const contexts = events.flatMap((event) => spanContextOf(event.traceparent) ?? []);
    if (contexts.length === 0) return sink.deliver(events, cursor);
    const traces = new Set(contexts.map((spanContext) => spanContext.traceId));
    // Events of one trace: the handling of each is the child of its publish, and a span of the
    // delivery around them would say nothing more (and cost a span per delivery per consumer). The
    // handling is traced while a span is active: the publish's context stands in for it.
    if (traces.size === 1)
      return context.with(ROOT_CONTEXT.setValue(LIVE_DELIVERY, true), () => sink.deliver(events, cursor));
    const parent = ROOT_CONTEXT.setValue(LIVE_DELIVERY, true);
    const span = tracer().startSpan(
      `receive ${events.length} events`,
      {
        kind: SpanKind.CONSUMER,
        links: contexts.map((spanContext) => ({ context: spanContext })),
        attributes: {
          'messaging.system': system,
          'messaging.operation.type': 'receive',
          'messaging.batch.message_count': events.length,
        },
      },
      parent,
    );
    await context
      .with(trace.setSpan(parent, span), () => sink.deliver(events, cursor))
      .catch((err: unknown) => fail(span, err));
    span.end();
  };
  return new Proxy(sink, {
    get: (target, property) => {
      if (property === 'deliver') return deliver;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/**
 * A projection's reducer, traced: each event it applies within a live delivery (which the traced
 * transport marks; not the startup replay or a rebuild, which would make a span of every event in
 * the log) is a consumer span, the child of the event's publish, and the reactions it
 * returns carry that span's context.
 */
export function tracedReducer<M, E extends Envelope>(
  apply: (model: M, event: E) => readonly NewEvent[] | void,
  system: string,
): (model: M, event: E) => readonly NewEvent[] | void {
  return (model, event) => {
    if (context.active().getValue(LIVE_DELIVERY) !== true) return apply(model, event);
    const parent = contextOf(event.traceparent);
    const span = tracer().startSpan(
      `process ${event.type}`,
      {
        kind: SpanKind.CONSUMER,
        attributes: { ...eventAttributes(event, system), 'messaging.operation.type': 'process' },
      },
      parent,
    );
    let reactions: readonly NewEvent[] | void;
    try {
      reactions = context.with(trace.setSpan(parent, span), () => apply(model, event));
    } catch (err) {
      return fail(span, err);
    }
    const traceparent = traceparentOf(span);
    span.end();
    if (!reactions || traceparent === undefined) return reactions;
    return reactions.map((reaction) => (reaction.traceparent === undefined ? { ...reaction, traceparent } : reaction));
  };
}

/** The traceparent of the span that is active here, if one is recorded: what a change made here continues. */
export function activeTraceparent(): string | undefined {
  const span = trace.getSpan(context.active());
  return span ? traceparentOf(span) : undefined;
}

/**
 * A push of a change to the browsers on a live stream: a producer span, the child of `cause` (the
 * handling of the event that made the change: `activeTraceparent()` there), whose context the
 * change carries so that the browser's handling continues the trace.
 */
export function pushSpan(cause: string | undefined, clients: number): string | undefined {
  if (cause === undefined) return undefined;
  const span = tracer().startSpan(
    'push change',
    { kind: SpanKind.PRODUCER, attributes: { 'messaging.operation.type': 'send', 'mini_blog.live.clients': clients } },
    contextOf(cause),
  );
  const traceparent = traceparentOf(span);
  span.end();
  return traceparent;
}

/** One hop through a proxy: its span, and the traceparent the proxied request carries on. */
export interface ProxyHop {
  /** Undefined when tracing is off: the request goes on with the headers it came with. */
  readonly traceparent: string | undefined;
  end(statusCode: number): void;
}

/**
 * A request passing through a proxy (the local gateway) as a server span: the child of the caller's
 * `traceparent` (the browser's), the parent of the service's. Made by hand rather than by the http
 * instrumentation, so that the gateway is traced wherever it runs (in the launcher, or inside a test).
 */
export function startProxyHop(
  headers: Readonly<Record<string, string | string[] | undefined>>,
  method: string,
  route: string,
): ProxyHop {
  const incoming = typeof headers.traceparent === 'string' ? headers.traceparent : undefined;
  const parent = incoming !== undefined && spanContextOf(incoming) ? contextOf(incoming) : ROOT_CONTEXT;
  const span = tracer().startSpan(
    `${method} ${route}`,
    { kind: SpanKind.SERVER, attributes: { 'http.request.method': method, 'http.route': route } },
    parent,
  );
  return {
    traceparent: traceparentOf(span),
    end: (statusCode) => {
      span.setAttribute('http.response.status_code', statusCode);
      if (statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    },
  };
}
