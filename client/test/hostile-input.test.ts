/**
 * @jest-environment node
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MAX_TITLE_LENGTH } from '@mini-blog/common/events';
import { DEFAULT_BODY_LIMIT } from '@mini-blog/common/service';
import { hostilePathSegment, hostileQuery, hostileRequest, guardPrototypes, sendRaw } from '@mini-blog/common/testing';
import fc from 'fast-check';
import { createApp } from '../server/app';

/**
 * Hostile requests to the static server of the SPA: whatever the path (dot segments, encoded
 * slashes and dots, NUL, bad escapes, huge), never a 5xx, never a file from outside its folder,
 * and the security headers on every answer; request bodies are refused.
 */

const SECRET = 'secret outside the static folder';
let root: string;
let staticDir: string;

beforeAll(() => {
  root = mkdtempSync(path.join(tmpdir(), 'client-hostile-'));
  staticDir = path.join(root, 'dist');
  mkdirSync(path.join(staticDir, 'assets'), { recursive: true });
  writeFileSync(path.join(staticDir, 'index.html'), '<!doctype html><div id="root"></div>');
  writeFileSync(path.join(staticDir, 'assets', 'index-abc123.js'), 'console.log("app")');
  writeFileSync(path.join(root, 'secret.txt'), SECRET);
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

guardPrototypes();

const segment = fc.oneof(
  hostilePathSegment,
  fc.constantFrom(
    '..',
    '%2e%2e',
    '.%2e',
    '%2e.',
    '..%2f',
    '..%5c',
    'secret.txt',
    'assets',
    'index.html',
    '%00',
    '',
    '~',
  ),
);

describe('hostile requests to the static server', () => {
  it('GET any path: never a 5xx, never a file from outside its folder, always the security headers', async () => {
    const app = createApp({ staticDir });

    await fc.assert(
      fc.asyncProperty(
        fc.array(segment, { minLength: 1, maxLength: 6 }),
        fc.option(hostileQuery(['v']), { nil: '' }),
        fc.constantFrom('text/html', '*/*', 'application/json'),
        async (segments, query, accept) => {
          const res = await sendRaw(app, 'GET', `/${segments.join('/')}${query}`, {
            headers: { accept },
            body: Buffer.alloc(0),
          });
          expect(res.status).toBeLessThan(500);
          expect(res.text).not.toContain(SECRET);
          expect(res.headers['content-security-policy']).toContain("default-src 'self'");
          expect(res.headers['x-content-type-options']).toBe('nosniff');
        },
      ),
      { numRuns: 200 },
    );
  });

  it('a request body on any route: refused with a 4xx and a message', async () => {
    const app = createApp({ staticDir });

    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('POST', 'PUT', 'PATCH', 'DELETE'),
        fc.constantFrom('/', '/index.html', '/posts/create', '/events', '/assets/index-abc123.js'),
        hostileRequest({
          specs: [{ shape: { title: { kind: 'text', min: 1, max: MAX_TITLE_LENGTH } }, valid: { title: 'x' } }],
          bodyLimitBytes: DEFAULT_BODY_LIMIT,
        }),
        async (method, target, hostile) => {
          const res = await sendRaw(app, method, target, hostile);
          expect(res.status).toBeGreaterThanOrEqual(400);
          expect(res.status).toBeLessThan(500);
          expect(res.body).toEqual(expect.objectContaining({ message: expect.any(String) }));
        },
      ),
      { numRuns: 80 },
    );
  });
});
