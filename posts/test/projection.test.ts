import type { Envelope } from '@mini-blog/common/events';
import { openTestProjection } from '@mini-blog/common/testing';
import { postsPage } from '../src/domain';
import { postsProjection } from '../src/projection';

/** A fresh projection with one PostCreated per entry, at the seqs given. */
function project(posts: readonly { seq: number; id: string; title?: string }[]) {
  const { db, model } = openTestProjection(postsProjection);
  for (const { seq, id, title = `T ${id}` } of posts) {
    const event: Envelope<'PostCreated'> = {
      type: 'PostCreated',
      id: `PostCreated:${id}`,
      seq,
      time: '',
      data: { id, title },
    };
    postsProjection.apply(model, event);
  }
  return { db, model };
}

describe('the posts projection', () => {
  it('pages the posts oldest first, each page after the last seq of the one before', () => {
    const { model } = project([
      { seq: 2, id: 'a' },
      { seq: 5, id: 'b' },
      { seq: 9, id: 'c' },
    ]);

    const first = postsPage(model, 2);
    const second = postsPage(model, 2, first.nextCursor!);

    expect(first).toEqual({
      posts: [
        { id: 'a', title: 'T a' },
        { id: 'b', title: 'T b' },
      ],
      nextCursor: 5,
    });
    expect(second).toEqual({ posts: [{ id: 'c', title: 'T c' }], nextCursor: null });
    expect(postsPage(model, 3)).toEqual({ posts: expect.any(Array), nextCursor: null });
    expect(postsPage(model, 10, 9)).toEqual({ posts: [], nextCursor: null });
  });

  it('keeps the first title of a post whose PostCreated comes again with another', () => {
    const { model } = project([
      { seq: 1, id: 'a', title: 'First' },
      { seq: 2, id: 'a', title: 'Second' },
    ]);

    expect(postsPage(model, 10).posts).toEqual([{ id: 'a', title: 'First' }]);
  });

  it('reads a page from the primary key, not by scanning or sorting the table', () => {
    const { db } = project([]);
    const plan = db
      .prepare<[], { detail: string }>(
        'EXPLAIN QUERY PLAN SELECT seq, id, title FROM posts WHERE seq > 0 ORDER BY seq LIMIT 10',
      )
      .all()
      .map((step) => step.detail);

    expect(plan).toEqual([expect.stringMatching(/^SEARCH posts USING INTEGER PRIMARY KEY/)]);
  });
});
