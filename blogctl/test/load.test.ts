import { kindOf } from '../src/load/generator';
import { percentiles } from '../src/load/percentiles';
import { runBlogctl } from './support/run';

describe('blogctl load: its options', () => {
  it.each([
    [['--rate', '0'], '--rate: must be a number above 0 and at most 100000, not 0'],
    [['--rate', 'fast'], '--rate: must be a number above 0'],
    [
      ['--duration', '30 seconds'],
      '--duration: must be a duration such as 30s, 2m or 500ms (up to 24h), not 30 seconds',
    ],
    [['--duration', '0s'], '--duration: must be a duration'],
    [['--mix', '0:0'], '--mix: must be posts:comments, two whole numbers not both 0'],
    [['--mix', '1-9'], '--mix: must be posts:comments'],
    [['--url', 'posts.com'], '--url: must be an http:// URL, not posts.com'],
    [['--namespace', 'blog'], 'load: --namespace: not for load (it goes through the public entry point, --url)'],
    [['extra'], 'load: takes no arguments, not extra'],
  ])('refuses %j with exit status 2, naming the option and the rule', async (args, message) => {
    const result = await runBlogctl(['load', ...args]);

    expect(result.status).toBe(2);
    expect(result.stderr).toContain(`blogctl: ${message}`);
  });

  it('refuses the options of load on another command', async () => {
    const result = await runBlogctl(['status', '--rate', '10']);

    expect(result.status).toBe(2);
    expect(result.stderr).toContain('blogctl: --rate: only for load');
  });

  it('says why when nothing answers at the target, with exit status 1', async () => {
    const result = await runBlogctl(['load', '--url', 'http://127.0.0.1:1', '--duration', '1s']);

    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(
      /^blogctl: load against http:\/\/127\.0\.0\.1:1: GET \/posts\/stream: connection refused/,
    );
  });
});

describe('the mix of a load', () => {
  it('spreads the posts evenly among the comments', () => {
    const kinds = Array.from({ length: 20 }, (_, n) => kindOf(n, { posts: 1, comments: 9 }));

    expect(kinds.filter((kind) => kind === 'post')).toHaveLength(2);
    expect(kinds.indexOf('post')).toBe(9);
    expect(Array.from({ length: 5 }, (_, n) => kindOf(n, { posts: 0, comments: 1 }))).toEqual(Array(5).fill('comment'));
    expect(Array.from({ length: 4 }, (_, n) => kindOf(n, { posts: 1, comments: 1 }))).toEqual([
      'comment',
      'post',
      'comment',
      'post',
    ]);
  });
});

describe('percentiles', () => {
  it('takes the nearest rank, and says nothing of an empty sample', () => {
    const samples = Array.from({ length: 100 }, (_, index) => 100 - index);

    expect(percentiles(samples)).toEqual({ count: 100, p50: 50, p90: 90, p99: 99, max: 100 });
    expect(percentiles([])).toEqual({ count: 0, p50: null, p90: null, p99: null, max: null });
  });
});
