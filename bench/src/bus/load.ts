import { createRequire } from 'node:module';

/** The part of autocannon's options and results used here (autocannon ships no types). */
interface Request {
  method?: string;
  path?: string;
  body?: string;
  headers?: Record<string, string>;
}

interface AutocannonOptions {
  readonly url: string;
  readonly connections: number;
  readonly duration: number;
  readonly method: string;
  readonly headers: Record<string, string>;
  readonly overallRate?: number;
  readonly requests: readonly { setupRequest: (request: Request) => Request }[];
}

interface AutocannonResult {
  readonly requests: { readonly total: number };
  readonly latency: { readonly p50: number; readonly p99: number };
  readonly duration: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly non2xx: number;
}

const autocannon = createRequire(__filename)('autocannon') as (options: AutocannonOptions) => Promise<AutocannonResult>;

export interface PostLoad {
  readonly url: string;
  readonly seconds: number;
  readonly connections: number;
  /** The body of the n-th request (0, 1, 2, ...): every request can carry new event ids. */
  readonly body: (n: number) => string;
  /** Requests per second over all connections; closed-loop (as fast as answered) when unset. */
  readonly rate?: number;
  /** Sent with every request: the publisher's `authorization`. */
  readonly headers?: Record<string, string>;
}

export interface LoadResult {
  readonly requests: number;
  readonly requestsPerSecond: number;
  readonly p50: number;
  readonly p99: number;
  /** Errors, timeouts and non-2xx answers: a run with any is not a valid measurement. */
  readonly failures: number;
}

/** POSTs JSON with autocannon, a new body per request. */
export async function postLoad({ url, seconds, connections, body, rate, headers = {} }: PostLoad): Promise<LoadResult> {
  let n = 0;
  const result = await autocannon({
    url,
    connections,
    duration: seconds,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    ...(rate === undefined ? {} : { overallRate: rate }),
    requests: [{ setupRequest: (request) => ({ ...request, body: body(n++) }) }],
  });
  return {
    requests: result.requests.total,
    requestsPerSecond: result.requests.total / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    failures: result.errors + result.timeouts + result.non2xx,
  };
}

/** One PostCreated event as the services publish it; `run` keeps ids unique across runs on one log. */
export const eventJson = (run: string, n: number): string =>
  `{"type":"PostCreated","id":"${run}-${n}","data":{"id":"${run}-${n}","title":"Benchmark post number ${n}"}}`;

export const batchJson = (run: string, n: number, size: number): string =>
  `[${Array.from({ length: size }, (_, index) => eventJson(run, n * size + index)).join(',')}]`;
