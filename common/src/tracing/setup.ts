import { trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { ExpressInstrumentation, ExpressLayerType } from '@opentelemetry/instrumentation-express';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, SimpleSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import type { IncomingMessage } from 'node:http';
import { ConfigError } from '../service/config-error';
import { DEFAULT_RECENT_SPANS, RecentSpans } from './recent-spans';

/**
 * Tracing with OpenTelemetry's SDK, set up before anything else of a process is loaded (the http and
 * express instrumentations patch those modules as they are first required): each process's entry
 * point imports its `instrumentation.ts` first. This module loads nothing of the service.
 */

export interface TracingOptions {
  /** `service.name`: what the trace view and Jaeger call this process. */
  readonly service: string;
  /**
   * What the process is, which says what its instrumentations trace:
   * - `service`: every request it answers (but the bus's deliveries, which the consumer traces event
   *   by event), and the requests it makes inside a trace (a catch-up's reads are worth no trace each);
   * - `bus`: only requests that come inside a trace (publishes and reads by a traced service), and
   *   none it makes (its deliveries, which each consumer traces from the events' traceparent);
   * - `gateway`: nothing is instrumented; its hops are spans made by hand (`startProxyHop`).
   */
  readonly role: 'service' | 'bus' | 'gateway';
  readonly env?: NodeJS.ProcessEnv;
}

export interface Tracing {
  /** The recent spans of this process, which `GET /traces` answers from; undefined when tracing is off. */
  readonly spans: RecentSpans | undefined;
  shutdown(): Promise<void>;
}

/** Paths whose requests are not traced: probes, scrapes, trace reads, and the live streams (a span minutes long says nothing). */
const UNTRACED_PATHS = /^\/(healthz|readyz|metrics|traces|posts\/stream|flow\/stream)(\/|\?|$)/;

/** The services' delivery route (`POST /events` from the bus): the consumer traces each event it applies instead. */
const isDelivery = (req: IncomingMessage) => req.method === 'POST' && /^\/events(\?|$)/.test(req.url ?? '');

let current: Tracing | undefined;

/** The tracing of this process, once `startTracing` ran. */
export function currentTracing(): Tracing | undefined {
  return current;
}

/**
 * Starts tracing: W3C trace context, the http and express instrumentations, spans kept in memory
 * (`TRACES_KEPT` of them, default 20,000) for the trace view, and sent with OTLP/HTTP as well when
 * `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set. `OTEL_SDK_DISABLED=true`
 * turns it off: nothing is patched and no span is made.
 */
export function startTracing({ service, role, env = process.env }: TracingOptions): Tracing {
  if (current) return current;
  if (env.OTEL_SDK_DISABLED === 'true') {
    current = { spans: undefined, shutdown: async () => undefined };
    return current;
  }
  const spans = new RecentSpans(keptSpans(env));
  // The store is memory: a span is there the moment it ends, so a trace is whole within a second of its last hop.
  const processors: SpanProcessor[] = [new SimpleSpanProcessor(spans)];
  if (otlpEndpointConfigured(env)) {
    // The exporter reads the endpoint, headers and timeout from the OTEL_EXPORTER_OTLP_* variables itself.
    processors.push(new BatchSpanProcessor(new OTLPTraceExporter(), { scheduledDelayMillis: 500 }));
  }
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': env.OTEL_SERVICE_NAME ?? service }),
    spanProcessors: processors,
  });
  provider.register({ propagator: new W3CTraceContextPropagator() });
  const unregister = registerInstrumentations({
    tracerProvider: provider,
    instrumentations:
      role === 'gateway'
        ? []
        : [
            new HttpInstrumentation({
              ignoreIncomingRequestHook: (req) =>
                UNTRACED_PATHS.test(req.url ?? '') ||
                (role === 'service' ? isDelivery(req) : req.headers.traceparent === undefined),
              requireParentforOutgoingSpans: true,
              disableOutgoingRequestInstrumentation: role === 'bus',
            }),
            // No span per layer: the instrumentation still names the server span after the route
            // (`POST /posts/:id/comments`), and a span for each of a dozen layers would cost more than it says.
            new ExpressInstrumentation({
              ignoreLayersType: [
                ExpressLayerType.MIDDLEWARE,
                ExpressLayerType.ROUTER,
                ExpressLayerType.REQUEST_HANDLER,
              ],
            }),
          ],
  });
  current = {
    spans,
    shutdown: async () => {
      unregister();
      await provider.shutdown();
      trace.disable();
      current = undefined;
    },
  };
  return current;
}

/** Whether spans go to an OTLP endpoint as well: one is set (`OTEL_EXPORTER_OTLP_ENDPOINT` or `..._TRACES_ENDPOINT`) and tracing is on. */
export function otlpEndpointConfigured(env: NodeJS.ProcessEnv): boolean {
  return (
    env.OTEL_SDK_DISABLED !== 'true' &&
    Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)
  );
}

function keptSpans(env: NodeJS.ProcessEnv): number {
  const raw = env.TRACES_KEPT;
  if (raw === undefined) return DEFAULT_RECENT_SPANS;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > 1_000_000)
    throw new ConfigError(`TRACES_KEPT: must be a whole number from 1 to 1000000, not ${JSON.stringify(raw)}`);
  return value;
}
