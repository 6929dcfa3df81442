import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { context, propagation, SpanKind, trace } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import express from 'express';
import request from 'supertest';
import type { Envelope, NewEvent, TraceSpan } from '../src/events';
import { createHttpApp } from '../src/service/http-app';
import { silentLogger } from '../src/service/logger';
import { MemoryBus } from '../src/testing/memory-bus';
import { tracedReducer, tracedTransport } from '../src/tracing/event-spans';
import { RecentSpans } from '../src/tracing/recent-spans';
import { gatheredTracesRouter, ownTracesRouter, parseTraceSources } from '../src/service/trace-routes';
import type { EventTransport } from '../src/transport/transport';
import type { DeliverySink } from '../src/transport/types';

const spans = new RecentSpans(1000);
const provider = new NodeTracerProvider({
  resource: resourceFromAttributes({ 'service.name': 'tested' }),
  spanProcessors: [new SimpleSpanProcessor(spans)],
});

beforeAll(() => provider.register());
afterAll(async () => {
  await provider.shutdown();
  trace.disable();
  context.disable();
  propagation.disable();
});

const spanIdOf = (traceparent: string | undefined) => traceparent?.split('-')[2];
const traceIdOf = (traceparent: string | undefined) => traceparent?.split('-')[1];
const spanById = (traceparent: string | undefined): TraceSpan | undefined =>
  spans.trace(traceIdOf(traceparent)!).find((span) => span.spanId === spanIdOf(traceparent));

const created = (n: number): NewEvent => ({
  type: 'CommentCreated',
  id: `CommentCreated:c${n}`,
  data: { id: `c${n}`, postId: 'p1', content: 'a secret draft', status: 'pending' },
});
const moderated = (n: number): NewEvent => ({
  type: 'CommentModerated',
  id: `CommentModerated:c${n}`,
  data: { id: `c${n}`, postId: 'p1', content: 'a secret draft', status: 'approved' },
});

/** A MemoryBus behind the traced transport, with the sink the transport hands live delivery to. */
function tracedMemoryBus(): { memory: MemoryBus; bus: EventTransport; connect(sink: DeliverySink): DeliverySink } {
  const memory = new MemoryBus();
  let connected: DeliverySink | undefined;
  const inner: EventTransport = {
    publish: (event, options) => memory.publish(event, options),
    publishBatch: (events) => memory.publishBatch(events),
    readLog: (options) => memory.readLog(options),
    connect: (sink) => {
      connected = sink;
      return {};
    },
    isReady: () => true,
    close: async () => undefined,
  };
  const bus = tracedTransport(inner, 'mini-blog');
  return {
    memory,
    bus,
    connect: (sink) => {
      bus.connect(sink);
      return connected!;
    },
  };
}

/** A consumer that applies what it is delivered with the traced reducer, and keeps the reactions. */
function applyingSink(
  apply: (event: Envelope) => readonly NewEvent[] | void,
): DeliverySink & { reactions: NewEvent[] } {
  const reducer = tracedReducer((_model: unknown, event: Envelope) => apply(event), 'mini-blog');
  const reactions: NewEvent[] = [];
  return {
    name: 'moderation',
    isReady: true,
    currentPosition: 0,
    whenReady: async () => undefined,
    syncToHead: async () => undefined,
    deliver: async (events) => {
      for (const event of events) reactions.push(...(reducer(undefined, event) ?? []));
    },
    reactions,
  };
}

describe('the event chain traced', () => {
  it('makes a publish a producer span whose context the stored event carries', async () => {
    const { memory, bus } = tracedMemoryBus();

    await bus.publish(created(1));

    const { traceparent } = memory.log[0]!;
    expect(traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(spanById(traceparent)).toMatchObject({
      name: 'publish CommentCreated',
      kind: 'producer',
      service: 'tested',
      attributes: {
        'messaging.message.id': 'CommentCreated:c1',
        'mini_blog.event.seq': 1,
        'mini_blog.post.id': 'p1',
        'mini_blog.comment.id': 'c1',
      },
    });
    expect(spans.traceOf('CommentCreated:c1')).toBe(traceIdOf(traceparent));
  });

  it("handles a delivered event in a child span of its publish, and the reaction's publish continues that trace", async () => {
    const { memory, bus, connect } = tracedMemoryBus();
    const sink = applyingSink(() => [moderated(2)]);
    const delivery = connect(sink);
    await bus.publish(created(2));
    const published = memory.log[0]!;

    await delivery.deliver([published]);
    await bus.publish(sink.reactions[0]!);

    const trace = spans.trace(traceIdOf(published.traceparent)!);
    const byName = (name: string) => trace.find((span) => span.name === name)!;
    const publish = byName('publish CommentCreated');
    // One trace in the delivery: no span of its own, the handling straight under the publish.
    expect(trace.filter((span) => span.name.startsWith('receive'))).toEqual([]);
    const processed = byName('process CommentCreated');
    expect(processed).toMatchObject({ kind: 'consumer', parentSpanId: publish.spanId });
    expect(spanIdOf(sink.reactions[0]!.traceparent)).toBe(processed.spanId);
    expect(byName('publish CommentModerated').parentSpanId).toBe(processed.spanId);
    expect(spanIdOf(memory.log[1]!.traceparent)).toBe(byName('publish CommentModerated').spanId);
  });

  it('links a delivery of events of several traces to each, and handles each in its own trace', async () => {
    const { memory, bus, connect } = tracedMemoryBus();
    const delivery = connect(applyingSink(() => undefined));
    await bus.publish(created(3));
    await bus.publish(created(4));
    const [first, second] = memory.log;

    await delivery.deliver([first!, second!]);

    for (const event of [first!, second!]) {
      const processed = spans
        .trace(traceIdOf(event.traceparent)!)
        .find((span) => span.name === 'process CommentCreated');
      expect(processed?.parentSpanId).toBe(spanIdOf(event.traceparent));
    }
    const ofTheirTraces = [first!, second!].flatMap((event) => spans.trace(traceIdOf(event.traceparent)!));
    expect(ofTheirTraces.some((span) => span.name.startsWith('receive'))).toBe(false);
    const batch = spansNamed('receive 2 events');
    expect(batch).toHaveLength(1);
    expect(batch[0]!.parentSpanId).toBeUndefined();
    expect(batch[0]!.links).toEqual([
      { traceId: traceIdOf(first!.traceparent), spanId: spanIdOf(first!.traceparent) },
      { traceId: traceIdOf(second!.traceparent), spanId: spanIdOf(second!.traceparent) },
    ]);
  });

  it('publishes a batch of reactions of several traces in one request, each in its own trace, the request linked to each', async () => {
    const { memory, bus } = tracedMemoryBus();
    await bus.publish(created(5));
    await bus.publish(created(6));
    const causes = memory.log.map((event) => event.traceparent);

    await bus.publishBatch([
      { ...moderated(5), traceparent: causes[0]! },
      { ...moderated(6), traceparent: causes[1]! },
    ]);

    memory.log.slice(2).forEach((event, index) => {
      expect(traceIdOf(event.traceparent)).toBe(traceIdOf(causes[index]));
      expect(spanById(event.traceparent)?.parentSpanId).toBe(spanIdOf(causes[index]));
    });
    const batch = spansNamed('publish 2 events').at(-1)!;
    expect(batch.links.map((link) => link.spanId)).toEqual(
      memory.log.slice(2).map((event) => spanIdOf(event.traceparent)),
    );
  });

  it('makes no span of an event applied outside a delivery (the startup replay, a rebuild)', async () => {
    const before = spansNamed('process CommentCreated').length;
    const reducer = tracedReducer((_model: unknown, _event: Envelope) => [moderated(7)], 'mini-blog');

    const reactions = reducer(undefined, { ...(created(7) as Envelope), seq: 1, id: 'CommentCreated:c7', time: '' });

    expect(spansNamed('process CommentCreated')).toHaveLength(before);
    expect(reactions?.[0]?.traceparent).toBeUndefined();
  });

  /** Every kept span of that name, in every trace. */
  function spansNamed(name: string): TraceSpan[] {
    const found: TraceSpan[] = [];
    for (const id of spans.traceIds()) found.push(...spans.trace(id).filter((span) => span.name === name));
    return found;
  }
});

describe('RecentSpans', () => {
  const span = (traceId: string, n: number, attributes: Record<string, string> = {}): TraceSpan => ({
    traceId,
    spanId: n.toString(16).padStart(16, '0'),
    service: 'posts',
    name: `span ${n}`,
    kind: 'producer',
    start: n,
    duration: 1,
    status: 'ok',
    attributes,
    links: [],
  });
  const a = 'a'.repeat(32);
  const b = 'b'.repeat(32);

  it('keeps the newest spans up to its capacity, the oldest going first', () => {
    const store = new RecentSpans(3);
    store.add(span(a, 1, { 'messaging.message.id': 'PostCreated:p1' }));
    store.add(span(b, 2));
    store.add(span(a, 3));
    store.add(span(b, 4));

    expect(store.size).toBe(3);
    expect(store.trace(a).map((kept) => kept.name)).toEqual(['span 3']);
    expect(store.trace(b).map((kept) => kept.name)).toEqual(['span 2', 'span 4']);
    expect(store.traceOf('PostCreated:p1')).toBeUndefined();
  });

  it('finds the trace of an event by the id its publish carried', () => {
    const store = new RecentSpans(3);
    store.add(span(a, 1, { 'messaging.message.id': 'PostCreated:p1' }));

    expect(store.traceOf('PostCreated:p1')).toBe(a);
    expect(store.traceOf('PostCreated:p2')).toBeUndefined();
  });

  it('keeps only the attributes it may show: no address, user agent or query string', () => {
    const tracer = provider.getTracer('test');
    const recorded = tracer.startSpan('GET /posts/feed', {
      kind: SpanKind.SERVER,
      attributes: {
        'http.route': '/posts/feed',
        'http.response.status_code': 200,
        'url.full': 'http://127.0.0.1:4002/posts/feed?cursor=secret',
        'client.address': '10.0.0.7',
        'user_agent.original': 'curl',
      },
    });
    recorded.end();

    const kept = spans.trace(recorded.spanContext().traceId)[0]!;
    expect(kept.attributes).toEqual({ 'http.route': '/posts/feed', 'http.response.status_code': 200 });
  });
});

describe('the trace routes', () => {
  const traceId = 'c'.repeat(32);
  const servers: Server[] = [];
  afterAll(() => servers.forEach((server) => server.close()));

  async function source(name: string, spanNumbers: number[], event?: string): Promise<string> {
    const store = new RecentSpans(10);
    for (const n of spanNumbers)
      store.add({
        traceId,
        spanId: n.toString(16).padStart(16, '0'),
        service: name,
        name: `${name} ${n}`,
        kind: event ? 'producer' : 'server',
        start: n,
        duration: 1,
        status: 'ok',
        attributes: event ? { 'messaging.message.id': event } : {},
        links: [],
      });
    const server = express().use(ownTracesRouter(store)).listen(0, '127.0.0.1');
    servers.push(server);
    await new Promise((resolve) => server.once('listening', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async function gatherer() {
    const sources = new Map([
      ['posts', await source('posts', [3, 1])],
      ['comments', await source('comments', [2], 'CommentCreated:c9')],
      ['query', 'http://127.0.0.1:1'],
    ]);
    return createHttpApp({
      logger: silentLogger(),
      routes: (app) => app.use(gatheredTracesRouter(sources, undefined)),
    });
  }

  it('gathers a trace from every source in the order its spans started, naming a source that did not answer', async () => {
    const res = await request(await gatherer())
      .get(`/traces/${traceId}`)
      .expect(200);

    expect(res.body.spans.map((span: TraceSpan) => span.name)).toEqual(['posts 1', 'comments 2', 'posts 3']);
    expect(res.body.unreachable).toEqual(['query']);
  });

  it("finds an event's trace at whichever source holds its publish", async () => {
    const app = await gatherer();

    expect((await request(app).get('/traces?event=CommentCreated:c9').expect(200)).body).toEqual({ traceId });
    expect((await request(app).get('/traces?event=CommentCreated:c0').expect(404)).body.message).toBe(
      'event: no trace of CommentCreated:c0 is kept',
    );
  });

  it('refuses a trace id that is not 32 lower-case hex digits, naming the field', async () => {
    const res = await request(await gatherer())
      .get('/traces/XYZ')
      .expect(400);

    expect(res.body.message).toBe('traceId: must be 32 lower-case hex digits, not all zero');
  });

  it('reads TRACE_SOURCES, refusing an entry that is not name=url', () => {
    expect([...parseTraceSources('posts=http://posts-srv:4000,gateway=http://127.0.0.1:9/')]).toEqual([
      ['posts', 'http://posts-srv:4000'],
      ['gateway', 'http://127.0.0.1:9'],
    ]);
    expect(() => parseTraceSources('posts=ftp://x')).toThrow('"posts=ftp://x" must be name=http://host:port');
  });
});
