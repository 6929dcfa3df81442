import { createRequire } from 'node:module';

/** The part of autocannon's options and results used here (autocannon ships no types). */
interface AutocannonOptions {
  readonly url: string;
  readonly connections: number;
  readonly duration: number;
  readonly overallRate?: number;
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
  readonly requests?: readonly { setupRequest?: (request: { path: string }) => { path: string } }[];
}

interface Histogram {
  readonly average: number;
  readonly p50: number;
  readonly p99: number;
  readonly total: number;
}

interface AutocannonResult {
  readonly requests: Histogram;
  readonly latency: Histogram;
  readonly throughput: Histogram;
  readonly duration: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly non2xx: number;
}

const autocannon = createRequire(__filename)('autocannon') as (options: AutocannonOptions) => Promise<AutocannonResult>;

export interface LoadResult {
  /** Requests answered. */
  readonly total: number;
  readonly requestsPerSecond: number;
  readonly p50: number;
  readonly p99: number;
  readonly bytesPerRequest: number;
  /** Errors, timeouts and non-2xx answers: a run with any is not a valid measurement. */
  readonly failures: number;
}

export interface LoadOptions {
  readonly url: string;
  readonly seconds: number;
  readonly connections: number;
  /** Each request takes the next of these paths, in turn. */
  readonly paths?: readonly string[];
  readonly method?: string;
  readonly body?: string;
  /** Requests per second over all connections; without it, each connection sends as fast as it is answered. */
  readonly rate?: number;
  /** Sent with every request (a publisher's `authorization`). */
  readonly headers?: Record<string, string>;
}

/** Load with autocannon: closed loop (every connection sends its next request when answered), or at a fixed rate. */
export async function load({
  url,
  seconds,
  connections,
  paths,
  method,
  body,
  rate,
  headers = {},
}: LoadOptions): Promise<LoadResult> {
  let next = 0;
  const result = await autocannon({
    url,
    connections,
    duration: seconds,
    ...(rate ? { overallRate: rate } : {}),
    ...(method ? { method } : {}),
    ...(body === undefined ? { headers } : { body, headers: { ...headers, 'content-type': 'application/json' } }),
    ...(paths
      ? {
          requests: [
            {
              setupRequest: (request) => {
                next = (next + 1) % paths.length;
                return { ...request, path: paths[next]! };
              },
            },
          ],
        }
      : {}),
  });
  const total = result.requests.total;
  return {
    total,
    requestsPerSecond: total / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    bytesPerRequest: total > 0 ? result.throughput.total / total : 0,
    failures: result.errors + result.timeouts + result.non2xx,
  };
}
