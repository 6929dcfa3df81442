import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { TraceAnswer, TraceSpan } from '@mini-blog/common/events';
import { SERVICE_NAMES } from '@mini-blog/common/registry';
import { waitFor } from '@mini-blog/common/testing';
import { startTracing } from '@mini-blog/common/tracing';
import { startTemporarySystem, type TemporarySystem } from '@mini-blog/launcher';

/**
 * Traces across the event chain, on each transport, with every service a real process: what an
 * OTLP collector receives (decoded from the OTLP/HTTP JSON the services send), and what the gateway
 * shows of a trace (the gathered spans, and nothing else: no comment's content, no secret).
 */

jest.setTimeout(180_000);

// The gateway runs in this process: its hops are spans too, as in `npm start`.
startTracing({ service: 'gateway', role: 'gateway' });

/** A span as OTLP/JSON has it, with the service of its resource. */
interface OtlpSpan {
  readonly service: string;
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly name: string;
  readonly kind: number;
}

interface OtlpRequest {
  resourceSpans: {
    resource: { attributes: { key: string; value: { stringValue?: string } }[] };
    scopeSpans: { spans: Omit<OtlpSpan, 'service'>[] }[];
  }[];
}

/** A local OTLP/HTTP receiver: keeps every span it is sent, decoded. */
async function startReceiver(): Promise<{ url: string; spans: OtlpSpan[]; contentTypes: Set<string>; server: Server }> {
  const spans: OtlpSpan[] = [];
  const contentTypes = new Set<string>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      contentTypes.add(req.headers['content-type'] ?? '');
      if (req.method === 'POST' && req.url === '/v1/traces') {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpRequest;
        for (const { resource, scopeSpans } of body.resourceSpans) {
          const service = resource.attributes.find((attribute) => attribute.key === 'service.name')?.value.stringValue;
          for (const scope of scopeSpans)
            for (const span of scope.spans) spans.push({ ...span, service: service ?? '' });
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, spans, contentTypes, server };
}

describe.each(['http', 'jetstream'] as const)('traces on the %s transport', (transport) => {
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let running: TemporarySystem;
  const url = () => running.system.url;

  beforeAll(async () => {
    receiver = await startReceiver();
    const otlp = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url };
    running = await startTemporarySystem('mini-blog-traces-', {
      ...(transport === 'jetstream' ? { transport: { transport: 'jetstream', natsNodes: 1 } } : {}),
      env: Object.fromEntries(SERVICE_NAMES.map((name) => [name, otlp])),
    });
  });
  afterAll(async () => {
    await running?.stop();
    receiver?.server.close();
  });

  async function post(urlPath: string, body: unknown): Promise<unknown> {
    const res = await fetch(`${url()}${urlPath}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
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
    // Each process sends its spans in batches of its own: wait for every hop's.
    const spans = await waitFor(() => {
      const ofTrace = receiver.spans.filter((span) => span.traceId === traceId);
      return hops.every(([service, name]) => ofTrace.some((span) => span.service === service && span.name === name))
        ? ofTrace
        : undefined;
    }, "every hop's span at the receiver");
    expect([...receiver.contentTypes]).toEqual(['application/json']);
    const find = (service: string, name: string) => {
      const found = spans.find((span) => span.service === service && span.name === name);
      if (!found)
        throw new Error(`no span ${name} of ${service} among ${spans.map((s) => `${s.service}:${s.name}`).join(', ')}`);
      return found;
    };
    const childOf = (child: OtlpSpan, parent: OtlpSpan) => expect(child.parentSpanId).toBe(parent.spanId);

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
    const ancestors = (span: OtlpSpan): string[] => {
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
