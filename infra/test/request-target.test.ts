import fc from 'fast-check';
import { MAX_REQUEST_LINE_BYTES, normalizeRequestTarget, RequestTargetError } from '../src';
import { NGINX, startNginx } from './support/nginx';

/**
 * What nginx makes of each request target (nginx 1.22, merge_slashes on, as ingress-nginx runs it):
 * the path it matches locations against, or the status it refuses the request with. Checked
 * against a real nginx below where one is installed.
 */
const LONGEST = `/${'a'.repeat(MAX_REQUEST_LINE_BYTES - 'GET  HTTP/1.1\r\n'.length - 1)}`;

const AS_NGINX: readonly (readonly [target: string, path: string | 400 | 414])[] = [
  ['/', '/'],
  ['/posts/feed?limit=20', '/posts/feed'],
  ['//admin/subscriptions/query/cursor', '/admin/subscriptions/query/cursor'],
  ['/%2Fadmin', '/admin'],
  ['/%2fadmin/parked', '/admin/parked'],
  ['/flow/../events', '/events'],
  ['/flow/%2e%2e/events', '/events'],
  ['/flow/%2E%2E/events', '/events'],
  ['/flow/..%2fevents', '/events'],
  ['/subscriptions/..%2f..%2fadmin', 400],
  ['/subscriptions/%2e%2e/%2e%2e/admin', 400],
  ['/..', 400],
  ['/%2e%2e', 400],
  ['/a/../..', 400],
  ['//a@/flow', '/a@/flow'],
  ['/a%2F%2Fb', '/a/b'],
  ['/a/b/..', '/a/'],
  ['/a/b/.', '/a/b/'],
  ['/a/./b', '/a/b'],
  ['/%2e', '/'],
  ['/a//', '/a/'],
  ['/a/...', '/a/...'],
  ['/.a/..b/', '/.a/..b/'],
  ['/a;/../b', '/b'],
  ['/a/..;/admin', '/a/..;/admin'],
  ['/flow\\..\\events', '/flow\\..\\events'],
  ['/%5cadmin', '/\\admin'],
  ['/%65vents', '/events'],
  ['/a%3Fb?c=%2F', '/a?b'],
  ['/a%25%32%46b', '/a%2Fb'],
  ['/bad%E0', '/bad\u00e0'],
  ['/bad%zz', 400],
  ['/bad%4', 400],
  ['/x%00y', 400],
  // The longest GET target that fits in nginx's request line ("GET " + target + " HTTP/1.1\r\n"), and one byte more.
  [LONGEST, LONGEST],
  [`${LONGEST}a`, 414],
];

describe('normalizeRequestTarget', () => {
  const shown = (text: string | number) =>
    typeof text === 'string' && text.length > 60
      ? `${text.slice(0, 20)}… (${text.length} bytes)`
      : JSON.stringify(text);

  it.each(AS_NGINX.map(([target, expected]) => [shown(target), shown(expected), target, expected] as const))(
    'reads %s as nginx does: %s',
    (_target, _expected, target, expected) => {
      if (typeof expected === 'string') {
        expect(normalizeRequestTarget(target).path).toBe(expected);
      } else {
        expect(() => normalizeRequestTarget(target)).toThrow(
          expect.objectContaining({ name: 'RequestTargetError', status: expected }),
        );
      }
    },
  );

  it.each([
    ['absolute-form', 'http://event-bus-srv:4005/admin/parked'],
    ['asterisk-form', '*'],
    ['authority-form', 'posts.com:443'],
    ['a relative path', 'admin/parked'],
  ])('refuses the %s with 400 (nginx would route it by another host than posts.com)', (_form, target) => {
    expect(() => normalizeRequestTarget(target)).toThrow(new RequestTargetError(400, 'must be a path starting with /'));
  });

  it('says which rule a refused target breaks', () => {
    expect(() => normalizeRequestTarget('/bad%zz')).toThrow(
      'request target: "%zz" is not a percent-escape (% and two hex digits)',
    );
    expect(() => normalizeRequestTarget('/x%00')).toThrow('request target: must not contain an encoded NUL (%00)');
    expect(() => normalizeRequestTarget('/..')).toThrow('request target: must not go above the root with ".."');
    expect(() => normalizeRequestTarget(`${LONGEST}a`)).toThrow(
      `request target: must fit in a request line of ${MAX_REQUEST_LINE_BYTES} bytes`,
    );
    expect(() => normalizeRequestTarget(LONGEST, 'DELETE')).toThrow(RequestTargetError);
  });

  it('keeps the query string as sent and drops a fragment', () => {
    expect(normalizeRequestTarget('/posts/feed?cursor=a%2Fb&limit=2#top')).toEqual({
      path: '/posts/feed',
      encodedPath: '/posts/feed',
      search: '?cursor=a%2Fb&limit=2',
    });
  });

  it('encodes for the upstream what must not travel as it is', () => {
    expect(normalizeRequestTarget('/posts/a%20b/c%3Fd%23e%25f\\g%C3%A9/comments').encodedPath).toBe(
      '/posts/a%20b/c%3Fd%23e%25f%5Cg%C3%A9/comments',
    );
  });

  it('sends upstream a path that reads as the one routed: normalizing it again changes nothing', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^\/[\x21-\x7e]{0,40}$/), (target) => {
        let first;
        try {
          first = normalizeRequestTarget(target);
        } catch (err) {
          if (err instanceof RequestTargetError) return;
          throw err;
        }
        const again = normalizeRequestTarget(`${first.encodedPath}${first.search}`);
        expect(again).toEqual(first);
      }),
      { numRuns: 2000 },
    );
  });
});

(NGINX ? describe : describe.skip)(`conformance with a real nginx (${NGINX ?? 'not installed'})`, () => {
  it('answers every target of the table as the table says', async () => {
    const nginx = await startNginx(NGINX!);
    try {
      const answers = [];
      for (const [target] of AS_NGINX) {
        const { status, body } = await nginx.get(target);
        answers.push([target, status === 200 ? body : status] as const);
      }
      expect(answers).toEqual(AS_NGINX);
    } finally {
      await nginx.stop();
    }
  });
});
