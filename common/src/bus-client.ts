import { randomUUID } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { setTimeout as delay } from 'node:timers/promises';
import type { Envelope, EventType, NewEvent } from './events';
import { AppError } from './service/errors';

export interface PublishResult {
  readonly id: string;
  readonly seq: number;
  readonly duplicate: boolean;
}

export interface LogPage {
  readonly events: readonly Envelope[];
  /** The last seq the bus looked at: pass it as the next `after` (it moves past filtered-out events). */
  readonly next: number;
  /** The newest seq in the log when the page was read. */
  readonly head: number;
}

export interface ReadLogOptions {
  readonly after: number;
  readonly limit?: number;
  readonly types?: readonly EventType[];
}

export interface BusClient {
  /** Resolves once the event is durably in the log; the same `id` is never stored twice. */
  publish(event: NewEvent): Promise<PublishResult>;
  publishBatch(events: readonly NewEvent[]): Promise<readonly PublishResult[]>;
  readLog(options: ReadLogOptions): Promise<LogPage>;
}

export interface BusClientOptions {
  readonly url: string;
  /** Per request. */
  readonly timeoutMs?: number;
  /** Tries after the first one, for network errors, timeouts and 5xx/408/429 answers. */
  readonly retries?: number;
  readonly backoffMs?: number;
}

/**
 * The bus could not be reached or kept failing: the caller's request may be retried later. When a
 * publish went out and no answer came back (the connection dropped, a timeout), the bus may have
 * stored it before it stopped answering, and the message must not promise otherwise.
 */
export class BusUnavailableError extends AppError {
  constructor(
    cause: string,
    readonly mayBeStored = false,
  ) {
    super(
      503,
      mayBeStored
        ? `event-bus: unavailable (${cause}); it may have been stored before the bus stopped answering: a retry with the same Idempotency-Key header stores it at most once`
        : `event-bus: unavailable (${cause}); nothing was stored, try again`,
    );
    this.name = 'BusUnavailableError';
  }
}

/** Failures of a request that never reached the bus: it cannot have stored anything. */
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'CONNECT_TIMEOUT']);

const RETRYABLE_STATUS = new Set([408, 429]);

/** Exponential backoff with full jitter, so that many clients retrying do not retry in step. */
export function backoffDelay(attempt: number, baseMs: number, maxMs = 30_000): number {
  return Math.random() * Math.min(maxMs, baseMs * 2 ** attempt);
}

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
function exchange(agent: http.Agent, target: URL, method: string, body: string | undefined, timeoutMs: number): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers = body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
    const fail = (err: unknown) => {
      clearTimeout(timer);
      reject(err);
    };
    const req = (target.protocol === 'https:' ? https : http).request(target, { method, agent, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', fail);
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
      });
    });
    // One deadline for the whole exchange: an answer whose body stops coming is a timeout too. One
    // that comes before the connection is made has sent nothing.
    const timer = setTimeout(() => {
      const sent = req.socket?.connecting === false;
      req.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { name: 'TimeoutError', code: sent ? undefined : 'CONNECT_TIMEOUT' }));
    }, timeoutMs);
    req.on('error', fail);
    req.end(body);
  });
}

export function createBusClient({ url, timeoutMs = 5000, retries = 3, backoffMs = 100 }: BusClientOptions): BusClient {
  const base = url.replace(/\/+$/, '');
  const agent = new (base.startsWith('https:') ? https.Agent : http.Agent)({ keepAlive: true });

  async function request<T>(path: string, method: 'GET' | 'POST', body?: string): Promise<T> {
    let lastError = 'no attempt';
    let mayBeStored = false;
    for (let attempt = 0; attempt <= retries; attempt += 1) {
      if (attempt > 0) await delay(backoffDelay(attempt, backoffMs));
      let answer: Answer;
      try {
        answer = await exchange(agent, new URL(`${base}${path}`), method, body, timeoutMs);
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
      // A 4xx means this service sent something the bus refuses: a bug here, not the caller's fault.
      throw new Error(`event-bus refused ${method} ${path} with ${answer.status}: ${answer.text}`);
    }
    throw new BusUnavailableError(lastError, mayBeStored);
  }

  const post = <T>(body: unknown) => request<T>('/events', 'POST', JSON.stringify(body));

  return {
    // The id is fixed before the first try, so a retry after a lost answer is deduplicated by the bus.
    publish: (event) => post<PublishResult>({ ...event, id: event.id ?? randomUUID() }),
    publishBatch: async (events) =>
      (await post<{ results: PublishResult[] }>(events.map((event) => ({ ...event, id: event.id ?? randomUUID() })))).results,
    readLog: ({ after, limit = 1000, types }) => {
      const query = new URLSearchParams({ after: String(after), limit: String(limit) });
      if (types) query.set('types', types.join(','));
      return request<LogPage>(`/events?${query.toString()}`, 'GET');
    },
  };
}
