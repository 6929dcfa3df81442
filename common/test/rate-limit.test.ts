import express from 'express';
import request from 'supertest';
import { errorHandler } from '../src/service/errors';
import { silentLogger } from '../src/service/logger';
import { rateLimit, rateLimitKey, type RateLimitOptions } from '../src/service/rate-limit';

/** An app whose one route is behind the limit; the client is whoever the `x-client` header names. */
function limited(options: Partial<RateLimitOptions> & { clock: { now: number } }) {
  const app = express();
  app.use(
    rateLimit({
      limit: 3,
      windowMs: 60_000,
      what: 'tries',
      clientOf: (req) => String(req.headers['x-client']),
      now: () => options.clock.now,
      ...options,
    }),
  );
  app.post('/', (_req, res) => {
    res.json({ ok: true });
  });
  app.use(errorHandler(silentLogger()));
  return app;
}

const from = (app: express.Express, client: string) => request(app).post('/').set('x-client', client);

describe('rateLimit', () => {
  it('takes the limit from one client, refuses the next with 429 naming the rule and when to retry, and serves another client', async () => {
    const clock = { now: 1_000_000 };
    const app = limited({ clock });

    const allowed = [await from(app, '192.0.2.1'), await from(app, '192.0.2.1'), await from(app, '192.0.2.1')];
    clock.now += 15_000;
    const refused = await from(app, '192.0.2.1');
    const other = await from(app, '192.0.2.2');

    expect(allowed.map((res) => res.status)).toEqual([200, 200, 200]);
    expect(refused.status).toBe(429);
    expect(refused.body).toEqual({
      message: 'rate: at most 3 tries in 60 s from one client address; 192.0.2.1 is over it, try again in 45 s',
    });
    expect(refused.headers['retry-after']).toBe('45');
    expect(other.status).toBe(200);
  });

  it('counts afresh in the next window', async () => {
    const clock = { now: 0 };
    const app = limited({ clock, limit: 1 });
    await from(app, '192.0.2.1');
    expect((await from(app, '192.0.2.1')).status).toBe(429);

    clock.now = 60_000;

    expect((await from(app, '192.0.2.1')).status).toBe(200);
    expect((await from(app, '192.0.2.1')).status).toBe(429);
  });

  it('counts the addresses of one IPv6 /64 as one client, and another /64 apart', async () => {
    const clock = { now: 0 };
    const app = limited({ clock, limit: 2 });

    await from(app, '2001:db8:1:2::1');
    await from(app, '2001:db8:1:2:ffff:ffff:ffff:ffff');
    const third = await from(app, '2001:db8:1:2::9');
    const elsewhere = await from(app, '2001:db8:1:3::1');

    expect(third.status).toBe(429);
    expect(elsewhere.status).toBe(200);
  });

  it('holds at most maxClients in a window: one more client is refused with 503, those counted still served', async () => {
    const clock = { now: 0 };
    const app = limited({ clock, maxClients: 2 });
    await from(app, '192.0.2.1');
    await from(app, '192.0.2.2');

    const third = await from(app, '192.0.2.3');
    const known = await from(app, '192.0.2.1');
    clock.now = 60_000;
    const nextWindow = await from(app, '192.0.2.3');

    expect(third.status).toBe(503);
    expect(third.body.message).toBe('rate: 2 clients have sent tries in this window already; try again later');
    expect(known.status).toBe(200);
    expect(nextWindow.status).toBe(200);
  });
});

describe('rateLimitKey', () => {
  it.each([
    ['192.0.2.1', '192.0.2.1'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['2001:0db8:0001:0002:0003:0004:0005:0006', '2001:db8:1:2::/64'],
    ['2001:db8:1:2::', '2001:db8:1:2::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['::ffff:192.0.2.1', '0:0:0:0::/64'],
    ['unknown', 'unknown'],
  ])('counts %s as %s', (address, key) => {
    expect(rateLimitKey(address)).toBe(key);
  });
});
