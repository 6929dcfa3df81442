import { Pool } from 'undici';

export interface PacedResult {
  readonly published: number;
  readonly perSecond: number;
  readonly failures: number;
  /** From the moment each request was due (not sent) to its answer, so a stall is not hidden. */
  readonly p99Ms: number;
  readonly maxMs: number;
}

/**
 * Open-loop load: request n is due at n / rate seconds and is sent then, whatever happened to the
 * ones before (up to `maxInFlight`), as publishers in production do. autocannon's own rate limit
 * falls short of 5,000/s here, hence this.
 */
export async function pacedPosts(
  url: string,
  rate: number,
  seconds: number,
  body: (n: number) => string,
  headers: Record<string, string> = {},
  maxInFlight = 1000,
): Promise<PacedResult> {
  const target = new URL(url);
  const pool = new Pool(target.origin, { connections: 50 });
  const total = Math.round(rate * seconds);
  const latencies: number[] = [];
  let sent = 0;
  let inFlight = 0;
  let failures = 0;
  const started = performance.now();
  await new Promise<void>((resolve) => {
    const fire = (n: number) => {
      const due = started + (n / rate) * 1000;
      inFlight += 1;
      pool
        .request({
          method: 'POST',
          path: target.pathname,
          headers: { 'content-type': 'application/json', ...headers },
          body: body(n),
        })
        .then(async (response) => {
          await response.body.text();
          if (response.statusCode >= 300) failures += 1;
        })
        .catch(() => {
          failures += 1;
        })
        .finally(() => {
          latencies.push(performance.now() - due);
          inFlight -= 1;
          if (sent === total && inFlight === 0) resolve();
        });
    };
    const timer = setInterval(() => {
      const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate));
      while (sent < due && inFlight < maxInFlight) fire(sent++);
      if (sent === total) clearInterval(timer);
    }, 1);
  });
  const elapsed = (performance.now() - started) / 1000;
  await pool.close();
  latencies.sort((a, b) => a - b);
  return {
    published: total,
    perSecond: total / elapsed,
    failures,
    p99Ms: latencies[Math.floor(latencies.length * 0.99)] ?? Number.NaN,
    maxMs: latencies[latencies.length - 1] ?? Number.NaN,
  };
}
