import { isIP } from 'node:net';
import type { Request, RequestHandler } from 'express';
import { AppError } from './errors';

export interface RateLimitOptions {
  /** Requests one client may make in a window. */
  readonly limit: number;
  readonly windowMs: number;
  /** Who a request comes from (`ProxyTrust.clientOf`: the forwarded address behind a trusted proxy). */
  readonly clientOf: (req: Request) => string;
  /** What is counted, for the refusal: `span exports`. */
  readonly what: string;
  /** Clients counted in one window at most: one more is refused with 503, so memory stays bounded whatever the addresses. */
  readonly maxClients?: number;
  readonly now?: () => number;
}

/** Clients counted in one window by default: a map of 10,000 short strings, about a megabyte. */
export const DEFAULT_RATE_LIMIT_CLIENTS = 10_000;

/**
 * An IPv6 client is counted by its /64, the smallest network a host is given: one host holds
 * billions of addresses inside it, and counting each apart would bound nothing.
 */
export function rateLimitKey(address: string): string {
  const plain = address.split('%', 1)[0]!;
  if (isIP(plain) !== 6) return address;
  // An embedded IPv4 address (`::ffff:1.2.3.4`) fills the last two groups.
  const groups = (part: string) =>
    part === '' ? [] : part.split(':').flatMap((g) => (g.includes('.') ? ['0', '0'] : [g]));
  const [head = '', tail] = plain.split('::');
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const all = [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return `${all
    .slice(0, 4)
    .map((group) => parseInt(group, 16).toString(16))
    .join(':')}::/64`;
}

/**
 * At most `limit` requests per client in each window of `windowMs` (a fixed window: the counts
 * start again together). Beyond it the request is refused with 429 and a `Retry-After`, before its
 * body is read; a new client while `maxClients` are counted, with 503.
 */
export function rateLimit({
  limit,
  windowMs,
  clientOf,
  what,
  maxClients = DEFAULT_RATE_LIMIT_CLIENTS,
  now = Date.now,
}: RateLimitOptions): RequestHandler {
  let windowStart = now();
  let counts = new Map<string, number>();
  return (req, res, next) => {
    const time = now();
    if (time - windowStart >= windowMs) {
      windowStart = time;
      counts = new Map();
    }
    const retryAfter = String(Math.max(1, Math.ceil((windowStart + windowMs - time) / 1000)));
    const client = clientOf(req);
    const key = rateLimitKey(client);
    const count = counts.get(key) ?? 0;
    if (count === 0 && counts.size >= maxClients) {
      res.set('retry-after', retryAfter);
      throw new AppError(503, `rate: ${maxClients} clients have sent ${what} in this window already; try again later`);
    }
    if (count >= limit) {
      res.set('retry-after', retryAfter);
      throw new AppError(
        429,
        `rate: at most ${limit} ${what} in ${windowMs / 1000} s from one client address; ${client} is over it, try again in ${retryAfter} s`,
      );
    }
    counts.set(key, count + 1);
    next();
  };
}
