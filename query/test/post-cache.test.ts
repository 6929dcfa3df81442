import { PostCache } from '../src/post-cache';

describe('PostCache', () => {
  it('drops the least recently read post first when it holds too many', () => {
    const cache = new PostCache({ maxEntries: 2, maxChars: 1000 });
    cache.set('a', 'A');
    cache.set('b', 'B');
    cache.get('a');
    cache.set('c', 'C');

    expect([cache.get('a'), cache.get('b'), cache.get('c')]).toEqual(['A', undefined, 'C']);
    expect(cache.size).toBe(2);
  });

  it('drops posts until the characters it holds are within the bound', () => {
    const cache = new PostCache({ maxEntries: 100, maxChars: 10 });
    cache.set('a', 'x'.repeat(4));
    cache.set('b', 'x'.repeat(4));
    cache.set('c', 'x'.repeat(4));

    expect(cache.get('a')).toBeUndefined();
    expect(cache.heldChars).toBe(8);
  });

  it('keeps no post larger than the whole bound, and forgets what it held for it', () => {
    const cache = new PostCache({ maxEntries: 100, maxChars: 10 });
    cache.set('a', 'old');
    cache.set('a', 'x'.repeat(11));

    expect(cache.get('a')).toBeUndefined();
    expect(cache.heldChars).toBe(0);
  });

  it('counts a replaced post once', () => {
    const cache = new PostCache({ maxEntries: 100, maxChars: 100 });
    cache.set('a', 'one');
    cache.set('a', 'three');
    cache.delete('b');

    expect(cache.heldChars).toBe(5);
    expect(cache.size).toBe(1);
  });
});
