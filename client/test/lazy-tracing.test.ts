import { context, propagation, trace } from '@opentelemetry/api';
import { browserSpans } from '../src/lib/tracing-sdk';
import type * as lazyTracing from '../src/lib/tracing';
import { changeReceived, startBrowserTracing, tracedAction } from '../src/lib/tracing';

/**
 * The tracing SDK loads after the first render (`import()` in src/lib/tracing.ts): a person's action
 * taken while it loads waits for it and is traced as any other; a live change that comes while it
 * loads gets its span, at the time it came, once it has loaded. The tests run in order: the first
 * one before tracing starts.
 */

/** What the request an action starts would carry: the traceparent the fetch instrumentation injects. */
function traceparentNow(): string | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent;
}

describe("the browser's tracing, loaded after the first render", () => {
  it('runs an action at once, untraced, while tracing has not been started (as under test)', async () => {
    let ranAtOnce = false;
    const done = tracedAction('publish post', async () => {
      ranAtOnce = true;
      return trace.getActiveSpan();
    });

    expect(ranAtOnce).toBe(true);
    expect(await done).toBeUndefined();
  });

  it('traces an action taken before the SDK has loaded: it waits for the SDK, then runs in its root span', async () => {
    const loading = startBrowserTracing();
    const seen = await tracedAction('publish post', async () => ({
      span: trace.getActiveSpan()?.spanContext(),
      traceparent: traceparentNow(),
    }));

    expect(await loading).not.toBeNull();
    expect(seen.span).toBeDefined();
    const { traceId, spanId } = seen.span!;
    expect(seen.traceparent).toBe(`00-${traceId}-${spanId}-01`);
    expect(browserSpans.trace(traceId)).toEqual([
      expect.objectContaining({ name: 'publish post', service: 'browser', kind: 'internal', status: 'ok' }),
    ]);
    expect(browserSpans.trace(traceId)[0]!.parentSpanId).toBeUndefined();
  });

  it('marks a failed action as an error and rejects as the action did', async () => {
    let traceId = '';
    await expect(
      tracedAction('add comment', async () => {
        traceId = trace.getActiveSpan()!.spanContext().traceId;
        throw new Error('refused');
      }),
    ).rejects.toThrow('refused');

    expect(browserSpans.trace(traceId)).toEqual([expect.objectContaining({ name: 'add comment', status: 'error' })]);
  });

  it("records a live change as a span in the push's trace, at the time it came, once the SDK has loaded", async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const pushSpanId = '00f067aa0ba902b7';
    const before = Date.now();
    changeReceived(`00-${traceId}-${pushSpanId}-01`, 'post-1');
    changeReceived(undefined, 'post-2');
    const after = Date.now();
    await startBrowserTracing();
    await Promise.resolve();

    const spans = browserSpans.trace(traceId);
    expect(spans).toEqual([
      expect.objectContaining({
        name: 'live change received',
        kind: 'consumer',
        parentSpanId: pushSpanId,
        attributes: expect.objectContaining({ 'mini_blog.post.id': 'post-1' }),
      }),
    ]);
    expect(spans[0]!.start).toBeGreaterThanOrEqual(before);
    expect(spans[0]!.start).toBeLessThanOrEqual(after + 1);
  });
});

describe('the browser without its tracing SDK (the module failed to load)', () => {
  it('runs actions untraced and makes no span of a live change', async () => {
    let tracing!: typeof lazyTracing;
    jest.isolateModules(() => {
      jest.doMock('../src/lib/tracing-sdk', () => {
        throw new TypeError('Failed to fetch dynamically imported module');
      });
      tracing = jest.requireActual<typeof lazyTracing>('../src/lib/tracing');
    });

    expect(await tracing.startBrowserTracing()).toBeNull();
    const seen = await tracing.tracedAction('publish post', async () => traceparentNow());
    tracing.changeReceived('00-4bf92f3577b34da6a3ce929d0e0e4737-00f067aa0ba902b7-01', 'post-1');
    await Promise.resolve();

    expect(seen).toBeUndefined();
    expect(browserSpans.trace('4bf92f3577b34da6a3ce929d0e0e4737')).toEqual([]);
  });
});
