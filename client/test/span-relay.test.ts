/**
 * @jest-environment node
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SPAN_EXPORT_MAX_BYTES } from '@mini-blog/common/events';
import { createSpanRelay, ProxyTrust, silentLogger, type SpanRelayOptions } from '@mini-blog/common/service';
import { startOtlpReceiver, waitFor, type OtlpReceiver } from '@mini-blog/common/testing';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import request from 'supertest';
import { createApp } from '../server/app';

/**
 * `POST /v1/traces` on the client's server: the browser's OTLP span exports, sent on to the OTLP
 * endpoint. Who may call it (anyone: it is the browser's) and every bound on it: the rate per
 * client address, the body's size, OTLP trace data of the browser only, the exports in flight,
 * and nothing but the one configured URL ever reached.
 */

let staticDir: string;
let receiver: OtlpReceiver;

beforeAll(async () => {
  staticDir = mkdtempSync(path.join(tmpdir(), 'client-spans-'));
  writeFileSync(path.join(staticDir, 'index.html'), '<!doctype html><div id="root"></div>');
  receiver = await startOtlpReceiver();
});
afterAll(async () => {
  rmSync(staticDir, { recursive: true, force: true });
  await receiver.close();
});
beforeEach(() => {
  receiver.requests.length = 0;
  receiver.spans.length = 0;
  receiver.answerWith(200);
});

const relayed = (options: Partial<SpanRelayOptions> = {}) =>
  createApp({
    staticDir,
    spanRelay: createSpanRelay({
      proxies: new ProxyTrust(),
      logger: silentLogger(),
      url: `${receiver.url}/v1/traces`,
      ...options,
    }),
  });

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

/** An OTLP/JSON trace export as the browser's exporter writes it: one span, of the service `browser`. */
function browserExport({ service = 'browser', span = {} }: { service?: string; span?: Record<string, unknown> } = {}) {
  return {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }], droppedAttributesCount: 0 },
        scopeSpans: [
          {
            scope: { name: 'mini-blog-client' },
            spans: [
              {
                traceId: hex(16),
                spanId: hex(8),
                name: 'add comment',
                kind: 1,
                startTimeUnixNano: '1796601402180000000',
                endTimeUnixNano: '1796601402180326677',
                attributes: [{ key: 'mini_blog.post.id', value: { stringValue: 'p1' } }],
                status: { code: 0 },
                ...span,
              },
            ],
          },
        ],
      },
    ],
  };
}

const post = (app: Parameters<typeof request>[0], body: unknown, client = '127.0.0.1') =>
  request(app)
    .post('/v1/traces')
    .set('x-forwarded-for', client)
    .send(body as object);

describe('POST /v1/traces: the browser spans on their way to the OTLP endpoint', () => {
  it("sends on what the SDK's own OTLP exporter sends, to the endpoint's /v1/traces, as OTLP/HTTP JSON", async () => {
    const server = await listening(relayed());
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'browser' }),
      spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporter({ url: `${urlOf(server)}/v1/traces` }))],
    });
    try {
      const root = provider.getTracer('mini-blog-client').startSpan('add comment', { root: true });
      const { traceId, spanId } = root.spanContext();
      root.end();

      await provider.forceFlush();

      // OTLP numbers the kinds from 1 (SPAN_KIND_INTERNAL), the API from 0.
      expect(receiver.spans).toEqual([
        expect.objectContaining({ service: 'browser', traceId, spanId, name: 'add comment', kind: 1 }),
      ]);
      expect(receiver.requests.map(({ method, path: at, contentType }) => [method, at, contentType])).toEqual([
        ['POST', '/v1/traces', 'application/json'],
      ]);
    } finally {
      await provider.shutdown();
      server.close();
    }
  });

  it('sends on only the fields of the protocol: what reaches the endpoint is what was checked', async () => {
    const sent = browserExport({ span: { note: 'not OTLP', events: [{ name: 'x', timeUnixNano: 1, extra: true }] } });

    const res = await post(relayed(), { ...sent, extra: { deep: 1 } });

    expect(res.status).toBe(200);
    expect(res.body).toEqual({});
    const forwarded = JSON.parse(receiver.requests[0]!.body) as ReturnType<typeof browserExport>;
    const span = forwarded.resourceSpans[0]!.scopeSpans[0]!.spans[0]! as Record<string, unknown>;
    expect(forwarded).not.toHaveProperty('extra');
    expect(span).not.toHaveProperty('note');
    expect(span.events).toEqual([{ name: 'x', timeUnixNano: 1 }]);
    expect(span.traceId).toBe(sent.resourceSpans[0]!.scopeSpans[0]!.spans[0]!.traceId);
  });

  it('with no endpoint configured, takes the export and sends it nowhere, saying so as OTLP does', async () => {
    const app = createApp({
      staticDir,
      spanRelay: createSpanRelay({ proxies: new ProxyTrust(), logger: silentLogger(), env: {} }),
    });

    const res = await post(app, browserExport());

    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      partialSuccess: { rejectedSpans: 1, errorMessage: 'no OTLP endpoint is configured: the spans are not kept' },
    });
    expect(receiver.requests).toEqual([]);
  });

  it('answers 502 when the endpoint refuses the spans, naming its status and not its address', async () => {
    receiver.answerWith(400);

    const res = await post(relayed(), browserExport());

    expect(res.status).toBe(502);
    expect(res.body).toEqual({
      message: 'otlp: the OTLP endpoint did not take the spans (it answered 400); try again',
    });
  });

  it('answers 502 when the endpoint is unreachable, without its address', async () => {
    const closed = await startOtlpReceiver();
    await closed.close();

    const res = await post(relayed({ url: `${closed.url}/v1/traces`, timeoutMillis: 500 }), browserExport());

    expect(res.status).toBe(502);
    expect(res.body.message).toMatch(/^otlp: the OTLP endpoint did not take the spans/);
    expect(res.text).not.toContain('127.0.0.1');
  });
});

describe('who may call POST /v1/traces, and how much', () => {
  it('refuses anything but JSON with 415 naming the rule (OTLP/HTTP protobuf included), sending nothing', async () => {
    const app = relayed();

    const protobuf = await request(app)
      .post('/v1/traces')
      .set('content-type', 'application/x-protobuf')
      .send(Buffer.from([0x0a, 0x02, 0x08, 0x01]));
    const text = await request(app).post('/v1/traces').set('content-type', 'text/plain').send('{"resourceSpans":[]}');

    for (const res of [protobuf, text]) {
      expect(res.status).toBe(415);
      expect(res.body).toEqual({ message: 'content-type: must be application/json' });
    }
    expect(receiver.requests).toEqual([]);
  });

  it(`takes a body of ${SPAN_EXPORT_MAX_BYTES} bytes and refuses one byte more with 413 naming the limit`, async () => {
    const app = relayed();
    const json = JSON.stringify(browserExport());
    const body = (bytes: number) => json + ' '.repeat(bytes - Buffer.byteLength(json));

    const atLimit = await request(app)
      .post('/v1/traces')
      .set('content-type', 'application/json')
      .send(body(SPAN_EXPORT_MAX_BYTES));
    const over = await request(app)
      .post('/v1/traces')
      .set('content-type', 'application/json')
      .send(body(SPAN_EXPORT_MAX_BYTES + 1));

    expect(atLimit.status).toBe(200);
    expect(over.status).toBe(413);
    expect(over.body).toEqual({ message: `body: must be at most ${SPAN_EXPORT_MAX_BYTES} bytes` });
    expect(receiver.requests).toHaveLength(1);
  });

  it.each<[string, unknown, string]>([
    [
      'metrics',
      { resourceMetrics: [{ resource: {}, scopeMetrics: [] }] },
      'resourceSpans: is required: only OTLP trace data (ExportTraceServiceRequest) is taken here',
    ],
    [
      'logs',
      { resourceLogs: [] },
      'resourceSpans: is required: only OTLP trace data (ExportTraceServiceRequest) is taken here',
    ],
    ['an array', [browserExport()], 'body: must be an object'],
    [
      "a service's spans",
      browserExport({ service: 'comments' }),
      'resourceSpans.0.resource: must have the attribute service.name "browser": only the browser\'s spans are taken here',
    ],
    [
      'a span with a bad trace id',
      browserExport({ span: { traceId: '0'.repeat(32) } }),
      'resourceSpans.0.scopeSpans.0.spans.0.traceId: must be 32 lower-case hex digits, not all zero',
    ],
    [
      'a span with a bad parent',
      browserExport({ span: { parentSpanId: 'XYZ' } }),
      'resourceSpans.0.scopeSpans.0.spans.0.parentSpanId: must be 16 lower-case hex digits, not all zero',
    ],
    [
      'a span with a time that is not a number',
      browserExport({ span: { startTimeUnixNano: 'yesterday' } }),
      'resourceSpans.0.scopeSpans.0.spans.0.startTimeUnixNano: must be nanoseconds since 1970: a whole number, or a string of digits',
    ],
    [
      'an attribute of no known type',
      browserExport({ span: { attributes: [{ key: 'k', value: { bytesValue: '***' } }] } }),
      'resourceSpans.0.scopeSpans.0.spans.0.attributes.0.value.bytesValue: must be base64',
    ],
  ])('refuses %s with 400 naming the field and the rule, sending nothing', async (_what, body, message) => {
    const res = await post(relayed(), body);

    expect(res.status).toBe(400);
    expect(res.body.message).toBe(message);
    expect(receiver.requests).toEqual([]);
  });

  it('takes 120 exports a minute from one client address by default, refuses the next with 429 before reading its body, and serves another client', async () => {
    // Sent on nowhere: what is counted is the calls, not the endpoint's answers.
    const app = createApp({
      staticDir,
      spanRelay: createSpanRelay({ proxies: new ProxyTrust(['127.0.0.1']), logger: silentLogger(), env: {} }),
    });
    const valid = browserExport();

    const taken = await Promise.all(Array.from({ length: 120 }, () => post(app, valid, '203.0.113.7')));
    // Not even parsed: an invalid body from the same client is refused for the rate, not the body.
    const refused = await post(app, { resourceLogs: [] }, '203.0.113.7');
    const other = await post(app, valid, '203.0.113.8');

    expect(taken.map((res) => res.status)).toEqual(Array<number>(120).fill(200));
    expect(refused.status).toBe(429);
    expect(refused.body.message).toMatch(
      /^rate: at most 120 span exports in 60 s from one client address; 203\.0\.113\.7 is over it, try again in \d+ s$/,
    );
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(other.status).toBe(200);
  });

  it('bounds the exports on their way at once: one more is answered 503 with Retry-After, the others go through', async () => {
    const server = await listening(relayed({ inFlight: 2 }));
    const release = receiver.hold();
    try {
      const pending = [post(server, browserExport()), post(server, browserExport())].map((call) => call.then());
      await waitFor(() => receiver.requests.length === 2, 'two exports at the endpoint');

      const third = await post(server, browserExport());
      release();
      const first = await Promise.all(pending);

      expect(third.status).toBe(503);
      expect(third.body).toEqual({
        message: 'otlp: 2 exports are on their way to the OTLP endpoint already; try again',
      });
      expect(third.headers['retry-after']).toBe('1');
      expect(first.map((res) => res.status)).toEqual([200, 200]);
    } finally {
      release();
      server.close();
    }
  });

  it('reaches the endpoint at its traces URL only, whatever path, method or headers the request names', async () => {
    const app = relayed();
    const valid = browserExport();

    const elsewhere = await Promise.all(
      ['/v1/metrics', '/v1/logs', '/v1/traces/../metrics', '/v1/traces/x', '/v1/traces%2F..%2Fmetrics', '/'].map(
        (target) => request(app).post(target).send(valid),
      ),
    );
    const otherMethods = await Promise.all([
      request(app).put('/v1/traces').send(valid),
      request(app).delete('/v1/traces'),
    ]);
    const withHeaders = await request(app)
      .post('/v1/traces')
      .set({ host: 'otel-collector:4318', 'x-forwarded-host': 'otel-collector', 'x-original-url': '/v1/metrics' })
      .send(valid);

    expect([...elsewhere, ...otherMethods].map((res) => res.status)).toEqual(Array<number>(8).fill(404));
    expect(withHeaders.status).toBe(200);
    expect(receiver.requests.map(({ method, path: at }) => `${method} ${at}`)).toEqual(['POST /v1/traces']);
  });
});

async function listening(app: ReturnType<typeof relayed>): Promise<Server> {
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return server;
}

const urlOf = (server: Server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
