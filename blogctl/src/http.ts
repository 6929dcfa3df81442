/** A failure blogctl reports and exits 1 on: the message says what went wrong and, where it can, the fix. */
export class BlogctlError extends Error {
  override name = 'BlogctlError';
}

/** The most blogctl reads of one answer; the bus's largest (a long parked list) is far below it. */
export const MAX_BODY_BYTES = 8 * 1024 * 1024;

export interface Request {
  readonly method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Sent as `Authorization: Bearer <token>`. */
  readonly token?: string;
  readonly body?: unknown;
  readonly signal?: AbortSignal;
  readonly timeoutMs?: number;
}

/** What a request came back with. Throws BlogctlError when it could not be made. */
export async function request(
  url: URL,
  { method = 'GET', token, body, signal, timeoutMs = 10_000 }: Request = {},
): Promise<{ status: number; json: unknown }> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const signals = [AbortSignal.timeout(timeoutMs), ...(signal ? [signal] : [])];
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.any(signals),
    });
  } catch (err) {
    throw new BlogctlError(`cannot reach ${url.origin}: ${reason(err)}`);
  }
  const text = await readBounded(res, MAX_BODY_BYTES);
  let json: unknown = undefined;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json };
}

/** The body as text, refusing one longer than `limit` bytes instead of holding it all. */
export async function readBounded(res: Response, limit: number): Promise<string> {
  if (!res.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > limit) throw new BlogctlError(`${res.url}: the answer is longer than ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** A short reason for a failed connection: the system error code where there is one. */
export function reason(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code) return cause.code === 'ECONNREFUSED' ? 'connection refused' : cause.code;
  if ((err as Error).name === 'TimeoutError') return 'timed out';
  return cause?.message ?? (err as Error).message;
}

/** The `message` of an error answer (the services' error shape), or its status. */
export function messageOf(status: number, json: unknown): string {
  const message = (json as { message?: unknown } | undefined)?.message;
  return typeof message === 'string' ? message : `HTTP ${status}`;
}
