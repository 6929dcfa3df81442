import { randomUUID } from 'node:crypto';
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
        ? `event-bus: unavailable (${cause}); it may have been stored before the bus stopped answering, check before trying again`
        : `event-bus: unavailable (${cause}); nothing was stored, try again`,
    );
    this.name = 'BusUnavailableError';
  }
}

/** Failures of a request that never reached the bus: it cannot have stored anything. */
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

const RETRYABLE_STATUS = new Set([408, 429]);

/** Exponential backoff with full jitter, so that many clients retrying do not retry in step. */
export function backoffDelay(attempt: number, baseMs: number, maxMs = 30_000): number {
  return Math.random() * Math.min(maxMs, baseMs * 2 ** attempt);
}

/** fetch's own message is only "fetch failed": the reason (ECONNREFUSED, a timeout) is in its cause. */
function describeFetchError(err: unknown, timeoutMs: number): string {
  const { name, message, cause } = (err ?? {}) as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (name === 'TimeoutError' || cause?.code === 'UND_ERR_HEADERS_TIMEOUT') return `no answer within ${timeoutMs} ms`;
  return cause?.code ?? cause?.message ?? message ?? String(err);
}

export function createBusClient({ url, timeoutMs = 5000, retries = 3, backoffMs = 100 }: BusClientOptions): BusClient {
  const base = url.replace(/\/+$/, '');

  async function request<T>(path: string, init: RequestInit = {}): Promise<T> {
    let lastError = 'no attempt';
    let mayBeStored = false;
    for (let attempt = 0; attempt <= retries; attempt += 1) {
      if (attempt > 0) await delay(backoffDelay(attempt, backoffMs));
      let response: Response;
      let text: string;
      try {
        response = await fetch(`${base}${path}`, { ...init, signal: AbortSignal.timeout(timeoutMs) });
        text = await response.text();
      } catch (err) {
        lastError = describeFetchError(err, timeoutMs);
        const code = (err as { cause?: { code?: string } } | undefined)?.cause?.code;
        if (init.method === 'POST' && !NOT_SENT.has(code ?? '')) mayBeStored = true;
        continue;
      }
      if (response.ok) return JSON.parse(text) as T;
      if (response.status >= 500 || RETRYABLE_STATUS.has(response.status)) {
        lastError = `answered ${response.status}`;
        continue;
      }
      // A 4xx means this service sent something the bus refuses: a bug here, not the caller's fault.
      throw new Error(`event-bus refused ${init.method ?? 'GET'} ${path} with ${response.status}: ${text}`);
    }
    throw new BusUnavailableError(lastError, mayBeStored);
  }

  const post = <T>(body: unknown) =>
    request<T>('/events', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  return {
    // The id is fixed before the first try, so a retry after a lost answer is deduplicated by the bus.
    publish: (event) => post<PublishResult>({ ...event, id: event.id ?? randomUUID() }),
    publishBatch: async (events) =>
      (await post<{ results: PublishResult[] }>(events.map((event) => ({ ...event, id: event.id ?? randomUUID() })))).results,
    readLog: ({ after, limit = 1000, types }) => {
      const query = new URLSearchParams({ after: String(after), limit: String(limit) });
      if (types) query.set('types', types.join(','));
      return request<LogPage>(`/events?${query.toString()}`);
    },
  };
}
