/**
 * The one way the app talks to the system: JSON requests and server-sent-event streams, all on
 * relative URLs, because the gateway (locally) or the ingress (in the cluster) serves the app and
 * every API on the same origin.
 */

/** The error body every service answers with. */
interface ErrorBody {
  readonly message?: unknown;
  readonly fields?: unknown;
}

/** Gateways answer these when the service behind them is down or not ready. */
const UNAVAILABLE_STATUSES = new Set([502, 503, 504]);

export class ApiError extends Error {
  constructor(
    /** `null` when no answer came at all (network down, gateway gone). */
    readonly status: number | null,
    message: string,
    /** Each bad field and the rule it broke, as the service reported them. */
    readonly fields: Readonly<Record<string, string>> = {},
    /** False when the message is not the service's own words (no answer, or a proxy's error page). */
    readonly fromService = false,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  get unreachable(): boolean {
    return this.status === null || UNAVAILABLE_STATUSES.has(this.status);
  }

  /** The rule a field broke, worded to sit next to that field. */
  fieldMessage(field: string): string | undefined {
    const rule = this.fields[field];
    if (rule !== undefined) return rule.charAt(0).toUpperCase() + rule.slice(1);
    return this.status !== null && !this.unreachable && Object.keys(this.fields).length === 0
      ? this.message
      : undefined;
  }
}

/** What a person should read when a request failed: the service's words, or why it got none. */
export function describeFailure(error: unknown, service: string): string {
  if (!(error instanceof ApiError) || error.status === null) return unreachableMessage(service);
  // A 503 in the service's own words: it is up, but what it depends on (the event bus) is not.
  if (error.status === 503 && error.fromService)
    return `The ${service} service can't do this right now (${error.message}). Try again in a moment.`;
  return error.unreachable ? unreachableMessage(service) : error.message;
}

function unreachableMessage(service: string): string {
  return `Can't reach the ${service} service right now. It may be restarting; try again in a moment.`;
}

function stringFields(value: unknown): Record<string, string> {
  if (typeof value !== 'object' || value === null) return {};
  return Object.fromEntries(
    Object.entries(value).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
  );
}

async function readJson(response: Response): Promise<unknown> {
  if (!response.headers.get('content-type')?.includes('json')) return undefined;
  try {
    return await response.json();
  } catch {
    return undefined;
  }
}

export interface RequestOptions {
  readonly body?: unknown;
  readonly signal?: AbortSignal;
  /** Makes a create safe to send again: the same key creates the same thing once. */
  readonly idempotencyKey?: string;
  /** Sent as `Authorization: Bearer <token>` (the operator's admin credential, for the fault switches). */
  readonly token?: string;
}

/** A key for one thing the user means to create; random, and made without needing a secure context. */
export function newIdempotencyKey(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/** Sends a JSON request; any answer other than 2xx becomes an `ApiError` carrying the service's message. */
export async function requestJson<T>(
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  path: string,
  { body, signal, idempotencyKey, token }: RequestOptions = {},
): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (idempotencyKey !== undefined) headers['idempotency-key'] = idempotencyKey;
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
  } catch (err) {
    if (signal?.aborted) throw err;
    throw new ApiError(null, 'no answer');
  }
  const payload = await readJson(response);
  if (!response.ok) {
    const { message, fields } = (payload ?? {}) as ErrorBody;
    if (typeof message === 'string') throw new ApiError(response.status, message, stringFields(fields), true);
    throw new ApiError(response.status, `${response.status} ${response.statusText}`.trim());
  }
  return payload as T;
}

export function query(params: Readonly<Record<string, string | number | null | undefined>>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== null && value !== undefined) search.set(key, String(value));
  }
  const text = search.toString();
  return text === '' ? '' : `?${text}`;
}

export type StreamStatus = 'connecting' | 'live' | 'reconnecting';

export interface StreamHandlers {
  /** Each named SSE event, with its JSON data. */
  readonly events: Readonly<Record<string, (data: unknown) => void>>;
  readonly onStatus: (status: StreamStatus) => void;
  /**
   * `fresh` is true on the first connection of a new EventSource: nothing was replayed, so the
   * caller must read the current state again. A browser reconnect of the same EventSource sends
   * `Last-Event-ID` instead, and the server replays what was missed.
   */
  readonly onOpen?: (fresh: boolean) => void;
}

const RETRY_BASE_MS = 1000;
const RETRY_MAX_MS = 30_000;

/**
 * Opens an SSE stream that stays open. EventSource retries a dropped connection by itself, but
 * gives up for good when an answer is an HTTP error (a gateway's 502 while the service restarts),
 * so then a new EventSource is opened after a backoff with jitter. Returns the function that closes it.
 */
export function openStream(path: string, { events, onStatus, onOpen }: StreamHandlers): () => void {
  let source: EventSource | undefined;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let failures = 0;
  let closed = false;

  const connect = () => {
    const current = new EventSource(path);
    source = current;
    let fresh = true;
    current.onopen = () => {
      failures = 0;
      onStatus('live');
      onOpen?.(fresh);
      fresh = false;
    };
    current.onerror = () => {
      if (closed) return;
      onStatus('reconnecting');
      if (current.readyState !== EventSource.CLOSED) return;
      current.close();
      const ceiling = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** failures);
      failures += 1;
      retryTimer = setTimeout(connect, ceiling / 2 + Math.random() * (ceiling / 2));
    };
    for (const [name, handle] of Object.entries(events)) {
      current.addEventListener(name, (message) => {
        let data: unknown;
        try {
          data = JSON.parse((message as MessageEvent<string>).data);
        } catch {
          // Not JSON means not one of ours (a proxy's notice): nothing to apply.
          return;
        }
        handle(data);
      });
    }
  };

  onStatus('connecting');
  connect();
  return () => {
    closed = true;
    clearTimeout(retryTimer);
    source?.close();
  };
}
