import { request } from 'node:http';

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

export async function call(
  base: string,
  method: string,
  urlPath: string,
  body?: unknown,
  options: CallOptions = {},
): Promise<Answer> {
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
export async function getJson<T>(
  base: string,
  urlPath: string,
  timeoutMs = 10_000,
  headers: Record<string, string> = {},
): Promise<T> {
  const answer = await call(base, 'GET', urlPath, undefined, { timeoutMs, headers });
  if (answer.status !== 200)
    throw new Error(`GET ${base}${urlPath} answered ${answer.status}: ${answer.text.slice(0, 300)}`);
  return answer.json as T;
}

/** A server-sent-events stream being read in the background; everything received so far is in `text`. */
export class StreamReader {
  text = '';
  status = 0;
  private readonly abort = new AbortController();
  private readonly done: Promise<void>;

  constructor(url: string, headers: Record<string, string> = {}) {
    this.done = this.read(url, headers);
  }

  /** Resolves once the stream holds what `check` looks for. */
  async waitFor(check: (text: string) => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check(this.text)) {
      if (Date.now() > deadline)
        throw new Error(
          `timed out after ${timeoutMs} ms waiting for ${what}; the stream (${this.status}) held: ${this.text.slice(-500)}`,
        );
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  async close(): Promise<void> {
    this.abort.abort();
    await this.done;
  }

  private async read(url: string, headers: Record<string, string>): Promise<void> {
    try {
      const res = await fetch(url, { signal: this.abort.signal, headers: { accept: 'text/event-stream', ...headers } });
      this.status = res.status;
      if (!res.body) return;
      const decoder = new TextDecoder();
      for await (const chunk of res.body) this.text += decoder.decode(chunk as Uint8Array, { stream: true });
    } catch (err) {
      if (!this.abort.signal.aborted) this.text += `\n[stream failed: ${(err as Error).message}]`;
    }
  }
}

/**
 * Sends exactly this method, path (not normalised: `..` and escapes go out as written), headers and
 * body to a server, as a hostile client would.
 */
export function rawRequest(
  base: string,
  method: string,
  rawPath: string,
  headers: Record<string, string> = {},
  body: Buffer = Buffer.alloc(0),
  timeoutMs = 10_000,
): Promise<Answer> {
  const url = new URL(base);
  return new Promise((resolve) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        method,
        path: rawPath,
        agent: false,
        headers: { ...headers, 'content-length': String(body.length) },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const responseHeaders = new Headers();
          for (const [name, value] of Object.entries(res.headers))
            if (typeof value === 'string') responseHeaders.set(name, value);
          resolve({ status: res.statusCode ?? 0, text, headers: responseHeaders, json: parseJson(text) });
        });
        res.on('error', (err) => resolve({ status: 0, text: err.message, headers: new Headers(), json: undefined }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (err) => resolve({ status: 0, text: err.message, headers: new Headers(), json: undefined }));
    req.end(body);
  });
}
