import { convertLegacyHttpOptions } from '@opentelemetry/otlp-exporter-base/node-http';
import { Router, type Request, type RequestHandler } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import { BROWSER_SERVICE, SPAN_EXPORT_PATH, SPAN_ID_PATTERN, TRACE_ID_PATTERN } from '../events/public-views';
import type { ProxyTrust } from './client-address';
import { AppError } from './errors';
import { rateLimit } from './rate-limit';
import { parseBody } from './validation';
import { otlpEndpointConfigured } from '../tracing/setup';

/**
 * The browser's way to the OTLP endpoint: it sends its spans with OTLP/HTTP (JSON) to
 * `POST /v1/traces` on its own origin, and the client's server sends them on to the endpoint the
 * services send theirs to (`OTEL_EXPORTER_OTLP_ENDPOINT`, read by the SDK's own exporter
 * configuration), so that the collector holds a trace from the click on. The path is public, so
 * what it takes is bounded: the rate per client address (before the body is read), the body's size
 * (`SPAN_EXPORT_MAX_BYTES`, the app's body limit), OTLP trace data only, every resource the browser
 * (`service.name` `browser`, so nobody writes spans in a service's name), and the spans go to the one
 * URL configured, whatever the request's path or headers. Without an endpoint nothing is sent on:
 * the browser's spans stay in its tab, where the trace view shows them.
 */

/** Span exports one client address may send a minute by default: a busy tab sends one a second at most. */
export const DEFAULT_SPAN_EXPORTS_PER_MINUTE = 120;

/** Exports on their way to the endpoint at once, at most; one more is answered 503 (the OTLP exporter's own default). */
export const DEFAULT_SPAN_EXPORTS_IN_FLIGHT = 30;

const hexId = (pattern: RegExp, digits: number) =>
  z.string().regex(pattern, `must be ${digits} lower-case hex digits, not all zero`);
const traceId = hexId(TRACE_ID_PATTERN, 32);
const spanId = hexId(SPAN_ID_PATTERN, 16);
const count = z.number().int().nonnegative();
/** OTLP/JSON writes a 64-bit integer as a number or as a string of digits. */
const UNIX_NANO_RULE = 'must be nanoseconds since 1970: a whole number, or a string of digits';
const unixNano = z.union([z.number().int().nonnegative(), z.string().regex(/^\d{1,20}$/, UNIX_NANO_RULE)], {
  error: UNIX_NANO_RULE,
});
const INT64_RULE = 'must be a whole number, or a string of digits';
const int64 = z.union([z.number().int(), z.string().regex(/^-?\d{1,19}$/, INT64_RULE)], { error: INT64_RULE });

interface OtlpKeyValue {
  key: string;
  value?: OtlpAnyValue;
}
interface OtlpAnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: number | string;
  doubleValue?: number | string;
  bytesValue?: string;
  arrayValue?: { values: OtlpAnyValue[] };
  kvlistValue?: { values: OtlpKeyValue[] };
}

const keyValue: z.ZodType<OtlpKeyValue> = z.object({
  key: z.string(),
  get value() {
    return anyValue.optional();
  },
});
const anyValue: z.ZodType<OtlpAnyValue> = z.object({
  stringValue: z.string().optional(),
  boolValue: z.boolean().optional(),
  intValue: int64.optional(),
  doubleValue: z.union([z.number(), z.enum(['NaN', 'Infinity', '-Infinity'])]).optional(),
  bytesValue: z.base64({ error: 'must be base64' }).optional(),
  get arrayValue() {
    return z.object({ values: z.array(anyValue).default([]) }).optional();
  },
  get kvlistValue() {
    return z.object({ values: z.array(keyValue).default([]) }).optional();
  },
});
const attributes = z.array(keyValue).optional();

const span = z.object({
  traceId,
  spanId,
  parentSpanId: z.union([z.literal(''), spanId]).optional(),
  traceState: z.string().optional(),
  flags: count.optional(),
  name: z.string(),
  kind: z.number().int().min(0).max(5).optional(),
  startTimeUnixNano: unixNano,
  endTimeUnixNano: unixNano,
  attributes,
  droppedAttributesCount: count.optional(),
  events: z
    .array(z.object({ timeUnixNano: unixNano, name: z.string(), attributes, droppedAttributesCount: count.optional() }))
    .optional(),
  droppedEventsCount: count.optional(),
  links: z
    .array(
      z.object({
        traceId,
        spanId,
        traceState: z.string().optional(),
        flags: count.optional(),
        attributes,
        droppedAttributesCount: count.optional(),
      }),
    )
    .optional(),
  droppedLinksCount: count.optional(),
  status: z.object({ message: z.string().optional(), code: z.number().int().min(0).max(2).optional() }).optional(),
});

const serviceNameOf = (resource: { attributes?: readonly OtlpKeyValue[] }) =>
  resource.attributes?.find((attribute) => attribute.key === 'service.name')?.value?.stringValue;

/**
 * An OTLP/HTTP JSON trace export (`ExportTraceServiceRequest`, opentelemetry-proto's JSON mapping),
 * every resource the browser's. Fields the protocol does not have are dropped (a receiver ignores
 * them anyway), so what is sent on is exactly what was checked.
 */
export const browserTraceExportSchema = z
  .object({
    resourceSpans: z
      .array(
        z.object({
          resource: z
            .object({ attributes, droppedAttributesCount: count.optional() })
            .refine((resource) => serviceNameOf(resource) === BROWSER_SERVICE, {
              error: `must have the attribute service.name "${BROWSER_SERVICE}": only the browser's spans are taken here`,
            }),
          scopeSpans: z
            .array(
              z.object({
                scope: z.object({ name: z.string().optional(), version: z.string().optional(), attributes }).optional(),
                spans: z.array(span).default([]),
                schemaUrl: z.string().optional(),
              }),
            )
            .default([]),
          schemaUrl: z.string().optional(),
        }),
      )
      .optional(),
  })
  // Said apart from "is required": a metrics or logs export sent here is the likely mistake.
  .refine((request) => request.resourceSpans !== undefined, {
    path: ['resourceSpans'],
    error: 'is required: only OTLP trace data (ExportTraceServiceRequest) is taken here',
  });

export type BrowserTraceExport = z.infer<typeof browserTraceExportSchema>;

const spanCount = (request: BrowserTraceExport) =>
  (request.resourceSpans ?? []).reduce(
    (sum, resource) => sum + resource.scopeSpans.reduce((inner, scope) => inner + scope.spans.length, 0),
    0,
  );

export interface SpanRelayOptions {
  /** Who a request comes from: the rate is bounded per client address. */
  readonly proxies: ProxyTrust;
  readonly logger: Logger;
  readonly exportsPerMinute?: number;
  readonly inFlight?: number;
  /**
   * The OTLP/HTTP traces URL to send the spans to. Left out: where the SDK sends the services' spans
   * (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, or `OTEL_EXPORTER_OTLP_ENDPOINT` and `/v1/traces`, with
   * `OTEL_EXPORTER_OTLP_HEADERS` and the timeout), when `env` sets one; else nowhere.
   */
  readonly url?: string;
  /** How long an export may take, retries included (the SDK's `OTEL_EXPORTER_OTLP_TIMEOUT` otherwise). */
  readonly timeoutMillis?: number;
  readonly env?: NodeJS.ProcessEnv;
}

export interface SpanRelay {
  /** Mounted before the body is read: the rate per client address. */
  readonly admit: RequestHandler;
  /** `POST /v1/traces`: checks the export and sends it on. */
  readonly router: Router;
  /** Whether the spans go on to an OTLP endpoint. */
  readonly forwarding: boolean;
  /** Waits for the exports in flight. */
  shutdown(): Promise<void>;
}

export function createSpanRelay({
  proxies,
  logger,
  exportsPerMinute = DEFAULT_SPAN_EXPORTS_PER_MINUTE,
  inFlight = DEFAULT_SPAN_EXPORTS_IN_FLIGHT,
  url,
  timeoutMillis,
  env = process.env,
}: SpanRelayOptions): SpanRelay {
  // The SDK's own reading of the OTLP settings (the URL, the headers, the timeout), as the services' exporter has it.
  const endpoint =
    url !== undefined || otlpEndpointConfigured(env)
      ? convertLegacyHttpOptions(
          { ...(url === undefined ? {} : { url }), ...(timeoutMillis === undefined ? {} : { timeoutMillis }) },
          'TRACES',
          'v1/traces',
          { 'Content-Type': 'application/json' },
        )
      : undefined;
  const sending = new Set<Promise<unknown>>();
  /** The endpoint's status, or undefined when it could not be reached in time. */
  const send = async (request: BrowserTraceExport): Promise<number | undefined> => {
    const { url: target, headers, timeoutMillis: timeout } = endpoint!;
    try {
      const res = await fetch(target, {
        method: 'POST',
        headers: await headers(),
        body: JSON.stringify(request),
        signal: AbortSignal.timeout(timeout),
      });
      await res.arrayBuffer();
      return res.status;
    } catch (err) {
      // The endpoint's address stays in the log: the caller learns only that it failed.
      logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'the OTLP endpoint could not be reached');
      return undefined;
    }
  };

  const router = Router();
  router.post(SPAN_EXPORT_PATH, async (req, res) => {
    const request = parseBody(req, browserTraceExportSchema);
    const spans = spanCount(request);
    if (spans === 0) {
      res.json({});
      return;
    }
    if (!endpoint) {
      res.json({
        partialSuccess: {
          rejectedSpans: spans,
          errorMessage: 'no OTLP endpoint is configured: the spans are not kept',
        },
      });
      return;
    }
    if (sending.size >= inFlight) {
      res.set('retry-after', '1');
      throw new AppError(503, `otlp: ${inFlight} exports are on their way to the OTLP endpoint already; try again`);
    }
    const sent = send(request);
    sending.add(sent);
    const status = await sent.finally(() => sending.delete(sent));
    if (status === undefined || status < 200 || status > 299)
      throw new AppError(
        502,
        `otlp: the OTLP endpoint did not take the spans${status === undefined ? '' : ` (it answered ${status})`}; try again`,
      );
    res.json({});
  });

  const limit = rateLimit({
    limit: exportsPerMinute,
    windowMs: 60_000,
    clientOf: (request: Request) => proxies.clientOf(request),
    what: 'span exports',
  });
  return {
    admit: (req, res, next) => (req.method === 'POST' ? limit(req, res, next) : next()),
    router,
    forwarding: endpoint !== undefined,
    shutdown: async () => {
      await Promise.allSettled(sending);
    },
  };
}
