/** One HTTP answer as a test sees it; status 0 when no answer came (refused, reset, timed out). */
export interface Answer {
  readonly status: number;
  readonly text: string;
  readonly headers: Headers;
  /** The parsed body when it is JSON. */
  readonly json: unknown;
}

export interface CallOptions {
  readonly timeoutMs?: number;
  readonly headers?: Record<string, string>;
  /** Sent as is instead of JSON. */
  readonly raw?: string | Buffer;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export async function call(base: string, method: string, urlPath: string, body?: unknown, options: CallOptions = {}): Promise<Answer> {
  const { timeoutMs = 10_000, headers = {}, raw } = options;
  const sendsJson = body !== undefined && raw === undefined;
  try {
    const res = await fetch(`${base}${urlPath}`, {
      method,
      headers: sendsJson ? { 'content-type': 'application/json', ...headers } : headers,
      body: raw ?? (sendsJson ? JSON.stringify(body) : undefined),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    return { status: res.status, text, headers: res.headers, json: parseJson(text) };
  } catch (err) {
    const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    return { status: 0, text: message, headers: new Headers(), json: undefined };
  }
}

/** The JSON body of a GET that must succeed. */
export async function getJson<T>(base: string, urlPath: string, timeoutMs = 10_000): Promise<T> {
  const answer = await call(base, 'GET', urlPath, undefined, { timeoutMs });
  if (answer.status !== 200) throw new Error(`GET ${base}${urlPath} answered ${answer.status}: ${answer.text.slice(0, 300)}`);
  return answer.json as T;
}

/** Reads a server-sent-events stream for at most `ms` (or until `enough` says so) and returns the raw text. */
export async function readStream(url: string, ms: number, enough: (text: string) => boolean = () => false): Promise<{ status: number; text: string }> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), ms);
  let text = '';
  let status = 0;
  try {
    const res = await fetch(url, { signal: abort.signal, headers: { accept: 'text/event-stream' } });
    status = res.status;
    if (!res.body) return { status, text: await res.text() };
    const decoder = new TextDecoder();
    for await (const chunk of res.body) {
      text += decoder.decode(chunk as Uint8Array, { stream: true });
      if (enough(text)) break;
    }
  } catch (err) {
    if (!abort.signal.aborted) throw err;
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
  return { status, text };
}
