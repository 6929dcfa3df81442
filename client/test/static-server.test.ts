/**
 * @jest-environment node
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { createApp, STRICT_TRANSPORT_SECURITY } from '../server/app';

const INDEX =
  '<!doctype html><html><body><div id="root"></div><script type="module" src="/assets/index-abc123.js"></script></body></html>';
let staticDir: string;

beforeAll(() => {
  staticDir = mkdtempSync(path.join(tmpdir(), 'client-static-'));
  mkdirSync(path.join(staticDir, 'assets'));
  writeFileSync(path.join(staticDir, 'index.html'), INDEX);
  writeFileSync(path.join(staticDir, 'assets', 'index-abc123.js'), 'console.log("app")');
  writeFileSync(path.join(staticDir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
});

afterAll(() => rmSync(staticDir, { recursive: true, force: true }));

describe('the static server', () => {
  it('serves index.html at / with a Content-Security-Policy that allows only its own origin', async () => {
    const res = await request(createApp({ staticDir })).get('/');

    expect(res.status).toBe(200);
    expect(res.text).toBe(INDEX);
    const csp = res.headers['content-security-policy'];
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|https?:/);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['cache-control']).toBe('no-cache');
  });

  it.each(['192.0.2.23:8080', 'posts.com'])(
    'sends no header that needs HTTPS over plain HTTP to %s (HSTS, upgrade-insecure-requests, COOP)',
    async (host) => {
      const res = await request(createApp({ staticDir })).get('/').set('host', host);

      expect(res.status).toBe(200);
      expect(res.headers['strict-transport-security']).toBeUndefined();
      expect(res.headers['content-security-policy']).not.toContain('upgrade-insecure-requests');
      expect(res.headers['cross-origin-opener-policy']).toBeUndefined();
      expect(res.headers['x-frame-options']).toBe('DENY');
    },
  );

  it.each(['localhost:8080', '127.0.0.1:8080', '[::1]:8080'])(
    'keeps Cross-Origin-Opener-Policy on %s, which a browser trusts without TLS',
    async (host) => {
      const res = await request(createApp({ staticDir })).get('/').set('host', host);

      expect(res.headers['cross-origin-opener-policy']).toBe('same-origin');
      expect(res.headers['strict-transport-security']).toBeUndefined();
    },
  );

  it('sends HSTS, upgrade-insecure-requests and COOP over HTTPS (here: a trusted proxy that ended TLS)', async () => {
    const app = createApp({ staticDir });
    app.set('trust proxy', 'loopback');

    const res = await request(app).get('/').set('host', 'posts.com').set('x-forwarded-proto', 'https');

    expect(res.headers['strict-transport-security']).toBe(STRICT_TRANSPORT_SECURITY);
    expect(res.headers['content-security-policy']).toMatch(/; upgrade-insecure-requests$/);
    expect(res.headers['cross-origin-opener-policy']).toBe('same-origin');
  });

  it('answers a client route with index.html, so a reload there works', async () => {
    const res = await request(createApp({ staticDir })).get('/event-flow').set('accept', 'text/html');

    expect(res.status).toBe(200);
    expect(res.type).toBe('text/html');
    expect(res.text).toBe(INDEX);
  });

  it('serves hashed assets with a year-long immutable cache', async () => {
    const res = await request(createApp({ staticDir })).get('/assets/index-abc123.js');

    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(res.headers['content-security-policy']).toBeDefined();
  });

  it('answers a missing asset with 404, never with index.html', async () => {
    const res = await request(createApp({ staticDir })).get('/assets/index-old999.js').set('accept', '*/*');

    expect(res.status).toBe(404);
    expect(res.text).not.toContain('<!doctype html>');
  });

  it('lets other root files be revalidated, since their names carry no hash', async () => {
    const res = await request(createApp({ staticDir })).get('/favicon.svg');

    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-cache');
  });

  it('is live, and ready only when the built app is there', async () => {
    await request(createApp({ staticDir })).get('/healthz').expect(200);
    await request(createApp({ staticDir })).get('/readyz').expect(200);
    await request(createApp({ staticDir: path.join(staticDir, 'missing') }))
      .get('/readyz')
      .expect(503);
  });

  it('does not answer writes with the app', async () => {
    const res = await request(createApp({ staticDir })).post('/event-flow').send({});

    expect(res.status).toBe(404);
    expect(res.body).toEqual({ message: expect.stringContaining('/event-flow') });
  });
});
