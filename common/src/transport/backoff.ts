/** Exponential backoff with full jitter, so that many clients retrying do not retry in step. */
export function backoffDelay(attempt: number, baseMs: number, maxMs = 30_000): number {
  return Math.random() * Math.min(maxMs, baseMs * 2 ** attempt);
}
