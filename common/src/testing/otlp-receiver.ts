import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { waitFor } from './wait-for';

/** A span as an OTLP/JSON export has it, with the `service.name` of its resource. */
export interface ReceivedSpan {
  readonly service: string;
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly name: string;
  readonly kind: number;
}

/** One request the receiver was sent, whatever its path: what reached the "collector". */
export interface ReceivedRequest {
  readonly method: string;
  readonly path: string;
  readonly contentType: string;
  readonly body: string;
}

export interface OtlpReceiver {
  /** The base URL, as `OTEL_EXPORTER_OTLP_ENDPOINT` names it; the traces go to `${url}/v1/traces`. */
  readonly url: string;
  readonly requests: ReceivedRequest[];
  /** Every span of every `POST /v1/traces` (OTLP/HTTP JSON), decoded. */
  readonly spans: ReceivedSpan[];
  /**
   * The spans of a trace once it has one of each `[service, name]` hop: every process sends its spans
   * in batches of its own, so a trace arrives in pieces.
   */
  trace(traceId: string, hops: readonly (readonly [string, string])[], timeoutMs?: number): Promise<ReceivedSpan[]>;
  /** The status of the next answers (200 unless told). */
  answerWith(status: number): void;
  /** Holds the answers from now on until the function it returns is called. */
  hold(): () => void;
  close(): Promise<void>;
}

interface OtlpJsonRequest {
  resourceSpans?: {
    resource?: { attributes?: { key: string; value?: { stringValue?: string } }[] };
    scopeSpans?: { spans?: Omit<ReceivedSpan, 'service'>[] }[];
  }[];
}

/**
 * A local OTLP/HTTP receiver for tests, on 127.0.0.1 and a free port: keeps every request it is
 * sent and decodes the spans of the JSON trace exports, as a collector would receive them.
 */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const requests: ReceivedRequest[] = [];
  const spans: ReceivedSpan[] = [];
  let status = 200;
  let held: Promise<void> | undefined;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const contentType = req.headers['content-type'] ?? '';
      requests.push({ method: req.method ?? '', path: req.url ?? '', contentType, body });
      if (req.method === 'POST' && req.url === '/v1/traces' && contentType === 'application/json') {
        for (const { resource, scopeSpans = [] } of (JSON.parse(body) as OtlpJsonRequest).resourceSpans ?? []) {
          const service = resource?.attributes?.find((attribute) => attribute.key === 'service.name')?.value
            ?.stringValue;
          for (const scope of scopeSpans)
            for (const span of scope.spans ?? []) spans.push({ ...span, service: service ?? '' });
        }
      }
      const answer = () => res.writeHead(status, { 'content-type': 'application/json' }).end('{}');
      if (held) void held.then(answer);
      else answer();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    spans,
    trace: (traceId, hops, timeoutMs = 10_000) =>
      waitFor(
        () => {
          const ofTrace = spans.filter((span) => span.traceId === traceId);
          const has = ([service, name]: readonly [string, string]) =>
            ofTrace.some((span) => span.service === service && span.name === name);
          return hops.every(has) ? ofTrace : undefined;
        },
        `the spans ${hops.map(([service, name]) => `${service}: ${name}`).join(', ')} of trace ${traceId} at the receiver`,
        { timeoutMs },
      ),
    answerWith: (next) => {
      status = next;
    },
    hold: () => {
      let release!: () => void;
      held = new Promise((resolve) => (release = resolve));
      return () => {
        held = undefined;
        release();
      };
    },
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}
