import { randomUUID } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { setTimeout as delay } from 'node:timers/promises';
import type { NewEvent } from '../../events';
import { backoffDelay } from '../backoff';
import { BusUnavailableError, ConflictError, IdempotencyConflictError } from '../errors';
import type { BusClient, LogPage, PublishOptions, PublishResult } from '../types';

export interface BusClientOptions {
  readonly url: string;
  /** Sent as `Authorization: Bearer <token>`: the first line of the service's credential file. */
  readonly token?: string;
  /** Per request. */
  readonly timeoutMs?: number;
  /** Tries after the first one, for network errors, timeouts and 5xx/408/429 answers. */
  readonly retries?: number;
  readonly backoffMs?: number;
}

/** Failures of a request that never reached the bus: it cannot have stored anything. */
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'CONNECT_TIMEOUT']);

const RETRYABLE_STATUS = new Set([408, 429]);

/** What a failed exchange says: its network error code (ECONNREFUSED, ECONNRESET), or that it timed out. */
function describeError(err: unknown, timeoutMs: number): string {
  const { name, code, message } = (err ?? {}) as { name?: string; code?: string; message?: string };
  if (name === 'TimeoutError') return `no answer within ${timeoutMs} ms`;
  return code ?? message ?? String(err);
}

interface Answer {
  readonly status: number;
  readonly text: string;
}

/**
 * One exchange with the bus, its answer read to the end within `timeoutMs`. node:http on kept-alive
 * connections rather than fetch: at 100 comments/s, fetch's web streams and abort signals took more
 * of the comments service's CPU than everything else a publish does.
 */
function exchange(
  agent: http.Agent,
  target: URL,
  method: string,
  headers: http.OutgoingHttpHeaders,
  body: string | undefined,
  timeoutMs: number,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const all =
      body === undefined
        ? headers
        : { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
    const fail = (err: unknown) => {
      clearTimeout(timer);
      reject(err);
    };
    const req = (target.protocol === 'https:' ? https : http).request(
      target,
      { method, agent, headers: all },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', fail);
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
        });
      },
    );
    // One deadline for the whole exchange: an answer whose body stops coming is a timeout too. One
    // that comes before the connection is made has sent nothing.
    const timer = setTimeout(() => {
      const sent = req.socket?.connecting === false;
      req.destroy(
        Object.assign(new Error(`no answer within ${timeoutMs} ms`), {
          name: 'TimeoutError',
          code: sent ? undefined : 'CONNECT_TIMEOUT',
        }),
      );
    }, timeoutMs);
    req.on('error', fail);
    req.end(body);
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * A 409 from the bus is one of two refusals, told apart by its body: a conditional publish whose
 * key has moved on (`lastSeq`), or an id stored before with other data.
 */
function conflictOf(text: string, events: readonly NewEvent[]): Error | undefined {
  const body = parseJson(text) as { lastSeq?: unknown; message?: unknown } | undefined;
  if (typeof body?.lastSeq === 'number')
    return new ConflictError(events.find((event) => event.key !== undefined)?.key ?? '', body.lastSeq);
  const message = typeof body?.message === 'string' ? body.message : '';
  const id = /^id: (.*) is stored with other data$/.exec(message)?.[1];
  return id === undefined ? undefined : new IdempotencyConflictError(id);
}

/** The HTTP bus client: a BusClient whose kept-alive connections `close` ends. */
export interface HttpBusClient extends BusClient {
  close(): void;
}

/** With an id fixed before the first try, so that a retry after a lost answer is deduplicated by the bus. */
const withId = (event: NewEvent) => ({ ...event, id: event.id ?? randomUUID() });

/**
 * The client of the HTTP event bus: `POST /events` to publish, `GET /events` to read pages of the
 * log. Network errors, timeouts and 5xx/408/429 answers are retried with backoff (the ids make a
 * retry safe), then thrown as `BusUnavailableError`; a 409 is thrown as `ConflictError` or
 * `IdempotencyConflictError`; any other 4xx means this service sent something the bus refuses (a
 * bug or a wrong credential here) and is thrown as a plain Error.
 */
export function createBusClient({
  url,
  token,
  timeoutMs = 5000,
  retries = 3,
  backoffMs = 100,
}: BusClientOptions): HttpBusClient {
  const base = url.replace(/\/+$/, '');
  const agent = new (base.startsWith('https:') ? https.Agent : http.Agent)({ keepAlive: true });
  const headers: http.OutgoingHttpHeaders = token === undefined ? {} : { authorization: `Bearer ${token}` };

  async function request<T>(
    path: string,
    method: 'GET' | 'POST',
    body?: string,
    events: readonly NewEvent[] = [],
  ): Promise<T> {
    let lastError = 'no attempt';
    let mayBeStored = false;
    for (let attempt = 0; attempt <= retries; attempt += 1) {
      if (attempt > 0) await delay(backoffDelay(attempt, backoffMs));
      let answer: Answer;
      try {
        answer = await exchange(agent, new URL(`${base}${path}`), method, headers, body, timeoutMs);
      } catch (err) {
        lastError = describeError(err, timeoutMs);
        const code = (err as { code?: string } | undefined)?.code;
        if (method === 'POST' && !NOT_SENT.has(code ?? '')) mayBeStored = true;
        continue;
      }
      if (answer.status >= 200 && answer.status < 300) return JSON.parse(answer.text) as T;
      if (answer.status >= 500 || RETRYABLE_STATUS.has(answer.status)) {
        lastError = `answered ${answer.status}`;
        continue;
      }
      const conflict = answer.status === 409 ? conflictOf(answer.text, events) : undefined;
      if (conflict) throw conflict;
      throw new Error(`event-bus refused ${method} ${path} with ${answer.status}: ${answer.text}`);
    }
    throw new BusUnavailableError(lastError, mayBeStored);
  }

  return {
    publish: async (event: NewEvent, { expectedLastSeq }: PublishOptions = {}) => {
      if (expectedLastSeq !== undefined && event.key === undefined)
        throw new TypeError('publish: expectedLastSeq needs the event to have a key');
      const body = expectedLastSeq === undefined ? withId(event) : { ...withId(event), expectedLastSeq };
      return request<PublishResult>('/events', 'POST', JSON.stringify(body), [event]);
    },
    publishBatch: async (events) =>
      (await request<{ results: PublishResult[] }>('/events', 'POST', JSON.stringify(events.map(withId)), events))
        .results,
    readLog: ({ after, limit = 1000, types }) => {
      const query = new URLSearchParams({ after: String(after), limit: String(limit) });
      if (types) query.set('types', types.join(','));
      return request<LogPage>(`/events?${query.toString()}`, 'GET');
    },
    close: () => agent.destroy(),
  };
}
