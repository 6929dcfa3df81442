import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { SPAN_EXPORT_PATH, type TraceAnswer, type TraceSpan } from '@mini-blog/common/events';
import { startOtlpReceiver, waitFor, type OtlpReceiver, type ReceivedSpan } from '@mini-blog/common/testing';
import { startTracing, type Tracing } from '@mini-blog/common/tracing';
import { startTemporarySystem, type TemporarySystem } from '@mini-blog/launcher';
import { ROOT_CONTEXT, SpanKind, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { sendRaw } from './support/raw-request';

/**
 * Traces across the event chain, on each transport, with every service a real process: what an
 * OTLP collector receives (decoded from the OTLP/HTTP JSON the services send, and the browser's
 * spans, which reach it through the gateway and the client's server), and what the gateway shows
 * of a trace (the gathered spans, and nothing else: no comment's content, no secret).
 */

jest.setTimeout(180_000);

/** The collector: every process of the system sends its spans there (OTEL_EXPORTER_OTLP_ENDPOINT, which they inherit). */
let receiver: OtlpReceiver;
let tracing: Tracing;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.url;
  // The gateway runs in this process: its hops are spans too, as in `npm start`, sent to the receiver as well.
  tracing = startTracing({ service: 'gateway', role: 'gateway' });
});
afterAll(async () => {
  await tracing?.shutdown();
  delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
  await receiver?.close();
});

describe.each(['http', 'jetstream'] as const)('traces on the %s transport', (transport) => {
  let running: TemporarySystem;
  const url = () => running.system.url;

  beforeAll(async () => {
    running = await startTemporarySystem('mini-blog-traces-', {
      ...(transport === 'jetstream' ? { transport: { transport: 'jetstream', natsNodes: 1 } } : {}),
    });
  });
  afterAll(async () => {
    await running?.stop();
  });

  async function post(urlPath: string, body: unknown, headers: Record<string, string> = {}): Promise<unknown> {
    const res = await fetch(`${url()}${urlPath}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(201);
    return res.json();
  }

  /** Creates a post and a comment on it; resolves with the comment's id and the trace of its creation. */
  async function commentTraced(content: string): Promise<{ commentId: string; traceId: string }> {
    const { id: postId } = (await post('/posts/create', { title: `Traced on ${transport}` })) as { id: string };
    const comments = (await post(`/posts/${postId}/comments`, { content })) as { id: string }[];
    const commentId = comments.at(-1)!.id;
    const { traceId } = await waitFor(async () => {
      const res = await fetch(`${url()}/traces?event=${encodeURIComponent(`CommentCreated:${commentId}`)}`);
      return res.ok ? ((await res.json()) as { traceId: string }) : undefined;
    }, "the comment's trace");
    return { commentId, traceId };
  }

  it('sends the whole chain of a new comment to the OTLP endpoint, each hop the child of the one that caused it', async () => {
    const { traceId } = await commentTraced('Traced all the way');

    const hops: [string, string][] = [
      ['comments', 'POST /posts/:id/comments'],
      ['comments', 'publish CommentCreated'],
      ['moderation', 'process CommentCreated'],
      ['moderation', 'publish CommentModerated'],
      ['comments', 'process CommentModerated'],
      ['comments', 'publish CommentUpdated'],
      ['query', 'process CommentCreated'],
      ['query', 'process CommentUpdated'],
      ...(transport === 'http' ? [['event-bus', 'POST /events'] as [string, string]] : []),
    ];
    const spans = await receiver.trace(traceId, hops);
    expect([...new Set(receiver.requests.map(({ path: at, contentType }) => `${at} ${contentType}`))]).toEqual([
      '/v1/traces application/json',
    ]);
    const find = (service: string, name: string) => {
      const found = spans.find((span) => span.service === service && span.name === name);
      if (!found)
        throw new Error(`no span ${name} of ${service} among ${spans.map((s) => `${s.service}:${s.name}`).join(', ')}`);
      return found;
    };
    const childOf = (child: ReceivedSpan, parent: ReceivedSpan) => expect(child.parentSpanId).toBe(parent.spanId);

    const created = find('comments', 'publish CommentCreated');
    childOf(find('moderation', 'process CommentCreated'), created);
    const moderated = find('moderation', 'publish CommentModerated');
    childOf(moderated, find('moderation', 'process CommentCreated'));
    childOf(find('comments', 'process CommentModerated'), moderated);
    const updated = find('comments', 'publish CommentUpdated');
    childOf(updated, find('comments', 'process CommentModerated'));
    childOf(find('query', 'process CommentUpdated'), updated);
    childOf(find('query', 'process CommentCreated'), created);
    // The request that created the comment is where the trace of its events begins.
    const ancestors = (span: ReceivedSpan): string[] => {
      const parent = spans.find((other) => other.spanId === span.parentSpanId);
      return parent ? [parent.spanId, ...ancestors(parent)] : [];
    };
    expect(ancestors(created)).toContain(find('comments', 'POST /posts/:id/comments').spanId);
    if (transport === 'http') {
      // The log's hop: the bus stores the event in a server span under the publish's request.
      const stored = spans.find(
        (span) =>
          span.service === 'event-bus' &&
          span.name === 'POST /events' &&
          spans.some((client) => client.spanId === span.parentSpanId && client.parentSpanId === created.spanId),
      );
      expect(stored).toBeDefined();
    }
  });

  it("sends a comment made in the browser to the OTLP endpoint as one trace: the click, its request, the gateway's hop and every service's, each the child of its cause", async () => {
    const { id: postId } = (await post('/posts/create', { title: `Clicked on ${transport}` })) as { id: string };
    // The browser, as the client's tracing has it (client/src/lib/tracing.ts): the person's action
    // the root, the fetch its child, whose traceparent the request carries; the spans exported with
    // the SDK's OTLP/HTTP exporter to /v1/traces on the page's origin, the gateway.
    const browser = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'browser' }),
      spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporter({ url: `${url()}${SPAN_EXPORT_PATH}` }))],
    });
    const tracer = browser.getTracer('mini-blog-client');
    const click = tracer.startSpan('add comment', { kind: SpanKind.INTERNAL, root: true });
    const request = tracer.startSpan(
      'POST',
      { kind: SpanKind.CLIENT, attributes: { 'http.request.method': 'POST' } },
      trace.setSpan(ROOT_CONTEXT, click),
    );
    const { traceId, spanId } = request.spanContext();
    await post(
      `/posts/${postId}/comments`,
      { content: 'Clicked all the way' },
      { traceparent: `00-${traceId}-${spanId}-01` },
    );
    request.end();
    click.end();
    await browser.shutdown();

    const hops: [string, string][] = [
      ['browser', 'add comment'],
      ['browser', 'POST'],
      ['gateway', 'POST gateway → comments'],
      ['comments', 'POST /posts/:id/comments'],
      ['comments', 'publish CommentCreated'],
      ['moderation', 'publish CommentModerated'],
      ['comments', 'publish CommentUpdated'],
      ['query', 'process CommentUpdated'],
    ];
    const spans = await receiver.trace(traceId, hops);
    const find = (service: string, name: string) =>
      spans.find((span) => span.service === service && span.name === name)!;

    // One trace, whole: its root is the click, and every other span's parent is at the receiver too.
    expect(spans.filter((span) => !span.parentSpanId)).toEqual([find('browser', 'add comment')]);
    const ids = new Set(spans.map((span) => span.spanId));
    expect(spans.filter((span) => span.parentSpanId && !ids.has(span.parentSpanId))).toEqual([]);
    expect(find('browser', 'POST').parentSpanId).toBe(find('browser', 'add comment').spanId);
    expect(find('gateway', 'POST gateway → comments').parentSpanId).toBe(find('browser', 'POST').spanId);
    expect(find('comments', 'POST /posts/:id/comments').parentSpanId).toBe(
      find('gateway', 'POST gateway → comments').spanId,
    );
    const ancestors = (span: ReceivedSpan): ReceivedSpan[] => {
      const parent = spans.find((other) => other.spanId === span.parentSpanId);
      return parent ? [parent, ...ancestors(parent)] : [];
    };
    expect(ancestors(find('query', 'process CommentUpdated')).map((span) => `${span.service}: ${span.name}`)).toEqual(
      expect.arrayContaining([
        'comments: publish CommentUpdated',
        'moderation: publish CommentModerated',
        'browser: add comment',
      ]),
    );
  });

  it("takes at /v1/traces only the browser's OTLP trace data, and through no path reaches another of the collector's", async () => {
    const exportOf = (service: string) =>
      JSON.stringify({
        resourceSpans: [
          {
            resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
            scopeSpans: [
              {
                spans: [
                  {
                    traceId: 'e'.repeat(32),
                    spanId: 'f'.repeat(16),
                    name: `written on ${transport}`,
                    kind: 1,
                    startTimeUnixNano: '1',
                    endTimeUnixNano: '2',
                  },
                ],
              },
            ],
          },
        ],
      });
    const before = receiver.requests.length;

    const answers = [];
    for (const [target, body] of [
      ['/v1/metrics', exportOf('browser')],
      ['/v1/logs', exportOf('browser')],
      ['/v1/traces/../metrics', exportOf('browser')],
      ['/v1/traces/%2e%2e/logs', exportOf('browser')],
      ['/v1/traces%2F..%2Fmetrics', exportOf('browser')],
      ['//v1//traces', exportOf('comments')],
      ['/v1/traces', '{"resourceMetrics":[]}'],
      ['/v1/traces', 'not json'],
    ] as const)
      answers.push(await sendRaw(url(), 'POST', target, body));
    const sent = await sendRaw(url(), 'POST', '/v1/./traces', exportOf('browser'));

    expect(answers.map(({ request, status }) => `${request} → ${status}`)).toEqual([
      'POST /v1/metrics → 404',
      'POST /v1/logs → 404',
      'POST /v1/traces/../metrics → 404',
      'POST /v1/traces/%2e%2e/logs → 404',
      'POST /v1/traces%2F..%2Fmetrics → 404',
      'POST //v1//traces → 400',
      'POST /v1/traces → 400',
      'POST /v1/traces → 400',
    ]);
    expect(sent.status).toBe(200);
    // Only the one export that was the browser's trace data reached the receiver, at its traces URL.
    await waitFor(() => receiver.spans.some((span) => span.name === `written on ${transport}`), 'the export sent on');
    expect(
      receiver.requests
        .slice(before)
        .filter(({ body }) => body.includes(`written on ${transport}`))
        .map(({ method, path: at }) => `${method} ${at}`),
    ).toEqual(['POST /v1/traces']);
    expect(receiver.requests.filter(({ path: at }) => at !== '/v1/traces')).toEqual([]);
  });

  it('shows through the gateway the trace gathered from every process, with nothing but metadata', async () => {
    const { commentId, traceId } = await commentTraced('I like orange juice');

    const trace = await waitFor(async () => {
      const answer = (await (await fetch(`${url()}/traces/${traceId}`)).json()) as TraceAnswer;
      return answer.spans.some((span) => span.service === 'query' && span.name === 'process CommentUpdated')
        ? answer
        : undefined;
    }, 'the whole trace through the gateway');
    expect(trace.unreachable).toEqual([]);
    const services = new Set(trace.spans.map((span: TraceSpan) => span.service));
    const hops = ['gateway', 'comments', 'moderation', 'query', ...(transport === 'http' ? ['event-bus'] : [])];
    expect([...services]).toEqual(expect.arrayContaining(hops));
    expect(trace.spans.find((span) => span.name === 'process CommentModerated')?.attributes).toMatchObject({
      'mini_blog.comment.id': commentId,
    });
    const text = JSON.stringify(trace);
    // The comment was rejected: its words appear nowhere, nor does any principal's secret.
    expect(text).not.toContain('orange');
    const credentials = path.join(running.dataDir, 'credentials');
    for (const file of readdirSync(credentials)) {
      for (const secret of readFileSync(path.join(credentials, file), 'utf8').split('\n').filter(Boolean))
        expect(text).not.toContain(secret);
    }
  });

  it('answers only reads of traces: a write is refused and a bad id named', async () => {
    const traceId = 'd'.repeat(32);

    const write = await fetch(`${url()}/traces/${traceId}`, { method: 'POST' });
    const bad = await fetch(`${url()}/traces/not-a-trace`);
    const noEvent = await fetch(`${url()}/traces`);

    expect(write.status).toBe(transport === 'http' ? 405 : 404);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toMatch(/^traceId: /);
    expect(noEvent.status).toBe(400);
  });
});
