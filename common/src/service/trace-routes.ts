import { Router } from 'express';
import { z } from 'zod';
import { TRACE_ID_PATTERN, type TraceAnswer, type TraceSpan } from '../events/public-views';
import { MAX_ID_LENGTH } from '../events/catalog';
import { AppError } from './errors';
import { parseOrThrow } from './validation';
import type { RecentSpans } from '../tracing/recent-spans';

/**
 * The trace routes. Every process answers `GET /traces/:traceId` and `GET /traces?event=<id>` from
 * its own recent spans on its own port (reached by the bus's views, never routed by the gateway or
 * the ingress); the bus's views gather a trace from every process and answer it publicly. Both
 * answer only what `RecentSpans` keeps (span-view.ts): names, times, routes, event ids, never a
 * payload, a header or an address.
 */

const traceParams = z.object({
  traceId: z.string().regex(TRACE_ID_PATTERN, 'must be 32 lower-case hex digits, not all zero'),
});
const lookupQuery = z.object({ event: z.string().min(1).max(MAX_ID_LENGTH) });

/** The routes of one process's own spans. */
export function ownTracesRouter(spans: RecentSpans): Router {
  const router = Router();
  router.get('/traces', (req, res) => {
    const { event } = parseOrThrow(lookupQuery, req.query, 'query');
    res.json({ traceId: spans.traceOf(event) ?? null });
  });
  router.get('/traces/:traceId', (req, res) => {
    const { traceId } = parseOrThrow(traceParams, req.params, 'path');
    res.json({ traceId, spans: spans.trace(traceId) });
  });
  return router;
}

/** How long the gathering waits for one process: a process that is down leaves its hops out, named in `unreachable`. */
const SOURCE_TIMEOUT_MS = 2000;

/** `TRACE_SOURCES`: `name=url` pairs, comma-separated, each a process whose own trace routes are at that URL; throws naming a bad entry. */
export function parseTraceSources(raw: string | undefined): ReadonlyMap<string, string> {
  const sources = new Map<string, string>();
  for (const entry of (raw ?? '').split(',').filter((part) => part.trim() !== '')) {
    const [name, url, ...rest] = entry.trim().split('=');
    if (!name || !url || rest.length > 0 || !/^https?:\/\/[^/]+\/?$/.test(url))
      throw new Error(`${JSON.stringify(entry)} must be name=http://host:port`);
    sources.set(name, url.replace(/\/$/, ''));
  }
  return sources;
}

async function askSource<T>(url: string): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(SOURCE_TIMEOUT_MS) });
  if (!res.ok) throw new Error(`answered ${res.status}`);
  return (await res.json()) as T;
}

/**
 * The public trace routes: a trace gathered from this process's spans and every source's, in the
 * order they started; the trace of an event, from whichever process holds its publish.
 */
export function gatheredTracesRouter(sources: ReadonlyMap<string, string>, own: RecentSpans | undefined): Router {
  const router = Router();
  router.get('/traces', async (req, res) => {
    const { event } = parseOrThrow(lookupQuery, req.query, 'query');
    const local = own?.traceOf(event);
    const found =
      local ??
      (
        await Promise.allSettled(
          [...sources.values()].map((url) =>
            askSource<{ traceId: string | null }>(`${url}/traces?event=${encodeURIComponent(event)}`),
          ),
        )
      ).flatMap((result) => (result.status === 'fulfilled' && result.value.traceId ? [result.value.traceId] : []))[0];
    if (found === undefined) throw new AppError(404, `event: no trace of ${event} is kept`);
    res.json({ traceId: found });
  });
  router.get('/traces/:traceId', async (req, res) => {
    const { traceId } = parseOrThrow(traceParams, req.params, 'path');
    const names = [...sources.keys()];
    const answers = await Promise.allSettled(
      names.map((name) => askSource<{ spans: TraceSpan[] }>(`${sources.get(name)}/traces/${traceId}`)),
    );
    const byId = new Map<string, TraceSpan>();
    for (const span of own?.trace(traceId) ?? []) byId.set(span.spanId, span);
    const unreachable: string[] = [];
    answers.forEach((answer, index) => {
      if (answer.status === 'rejected') unreachable.push(names[index]!);
      else for (const span of answer.value.spans) if (span.traceId === traceId) byId.set(span.spanId, span);
    });
    const spans = [...byId.values()].sort((a, b) => a.start - b.start);
    res.json({ traceId, spans, unreachable } satisfies TraceAnswer);
  });
  return router;
}
