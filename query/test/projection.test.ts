import type Database from 'better-sqlite3';
import type { CommentStatus } from '@mini-blog/common/events';
import fc from 'fast-check';
import type { QueryModel } from '../src/domain';
import { MODERATED_POST } from './moderated-post';
import { openProjection as open, type QueryEvent } from './open-projection';

/** Every row of both tables, in a fixed order: two projections that converged have equal dumps. */
const dump = (db: Database.Database) => ({
  posts: db.prepare('SELECT * FROM posts ORDER BY created_seq').all(),
  comments: db.prepare('SELECT * FROM comments ORDER BY post_seq, id').all(),
  waiting: db.prepare('SELECT * FROM waiting_comments ORDER BY post_id, id').all(),
});

/** Every listed post, newest first, as the public answers show them. */
function feed(model: QueryModel) {
  const posts: unknown[] = [];
  let cursor: number | undefined;
  do {
    const page = model.feedPage(2, cursor);
    posts.push(...page.posts.map((json) => JSON.parse(json)));
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);
  return posts;
}

let seq = 0;
const event = <T extends QueryEvent['type']>(type: T, data: Extract<QueryEvent, { type: T }>['data']): QueryEvent =>
  ({ id: `e${++seq}`, seq, time: '', type, data }) as QueryEvent;
const comment = <S extends CommentStatus>(id: string, status: S, postId = 'p1') => ({
  id,
  postId,
  content: `text ${id}`,
  status,
});

function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]];
  return items.flatMap((item, i) =>
    permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]),
  );
}

describe('the query projection', () => {
  const stream = [
    event('PostCreated', { id: 'p1', title: 'Hello' }),
    event('CommentCreated', comment('c1', 'pending')),
    event('CommentModerated', comment('c1', 'approved')),
    event('CommentUpdated', comment('c1', 'approved')),
    event('CommentCreated', comment('c2', 'pending')),
    event('CommentUpdated', comment('c2', 'rejected')),
  ];

  function inOrder() {
    const projection = open();
    projection.apply(...stream);
    return projection;
  }

  it('joins posts and comments and hides content that is not approved', () => {
    expect(feed(inOrder().model)).toEqual([
      {
        id: 'p1',
        title: 'Hello',
        createdSeq: stream[0]!.seq,
        version: stream[5]!.seq,
        comments: [
          { id: 'c1', content: 'text c1', status: 'approved' },
          { id: 'c2', content: '', status: 'rejected' },
        ],
      },
    ]);
  });

  it('converges to the rows of the in-order stream whatever the order of the events', () => {
    const expected = inOrder();
    for (const order of permutations(stream)) {
      const projection = open();
      for (const e of order) projection.apply(e);
      expect(dump(projection.db)).toEqual(dump(expected.db));
      expect(feed(projection.model)).toEqual(feed(expected.model));
    }
  });

  it('converges when every event is applied twice', () => {
    const projection = open();
    projection.apply(...stream, ...stream);
    expect(dump(projection.db)).toEqual(dump(inOrder().db));
  });

  it('lists no post for a comment whose post has not arrived yet, and lists it with the post', () => {
    const { model, apply } = open();
    const early = event('CommentCreated', comment('c9', 'pending', 'later'));
    apply(early);
    expect(feed(model)).toEqual([]);
    expect(model.postJson('later')).toBeUndefined();
    expect(model.mapPage(0, 10).count).toBe(0);

    const created = event('PostCreated', { id: 'later', title: 'Late' });
    apply(created);
    expect(feed(model)).toEqual([
      {
        id: 'later',
        title: 'Late',
        createdSeq: created.seq,
        version: created.seq,
        comments: [{ id: 'c9', content: '', status: 'pending' }],
      },
    ]);
  });

  it('keeps a decided status over a pending one that comes later, and the later of two decisions', () => {
    const { model, apply } = open();
    const post = event('PostCreated', { id: 'p1', title: 'Hello' });
    const created = event('CommentCreated', comment('c1', 'pending'));
    const approved = event('CommentModerated', comment('c1', 'approved'));
    const rejected = event('CommentUpdated', { ...comment('c1', 'rejected'), content: 'changed' });
    apply(post, rejected, approved, created);

    expect(model.post('p1')?.comments).toEqual([{ id: 'c1', content: '', status: 'rejected' }]);
  });

  it('lists comments in the order of their CommentCreated, whichever event of each came first', () => {
    const { model, apply } = open();
    const post = event('PostCreated', { id: 'p1', title: 'Hello' });
    const first = event('CommentCreated', comment('a', 'pending'));
    const second = event('CommentCreated', comment('b', 'pending'));
    const secondDecided = event('CommentModerated', comment('b', 'approved'));
    const third = event('CommentCreated', comment('c', 'pending'));
    apply(secondDecided, third, post, second, first);

    expect(model.post('p1')?.comments.map((c) => c.id)).toEqual(['a', 'b', 'c']);
  });

  it('keeps the first PostCreated of a post when another with the same id comes, in either order', () => {
    const first = event('PostCreated', { id: 'p1', title: 'First' });
    const again = event('PostCreated', { id: 'p1', title: 'Again' });
    for (const order of [
      [first, again],
      [again, first],
    ]) {
      const { model, apply } = open();
      apply(...order);
      expect(model.post('p1')).toEqual({
        id: 'p1',
        title: 'First',
        createdSeq: first.seq,
        version: first.seq,
        comments: [],
      });
      expect(model.postCount()).toBe(1);
    }
  });

  it('gives each post as version the last seq that changed it or its comments', () => {
    const { model, apply } = open();
    apply(...stream);
    const other = event('PostCreated', { id: 'p2', title: 'Other' });
    apply(other);

    expect(model.post('p1')?.version).toBe(stream[stream.length - 1]!.seq);
    expect(model.post('p2')?.version).toBe(other.seq);
  });

  it('reports the post each event may have changed, and no change for a second PostCreated', () => {
    const changes: [string, number][] = [];
    const { apply } = open({ onChange: (_model, postId, at) => changes.push([postId, at]) });
    const post = event('PostCreated', { id: 'p1', title: 'Hello' });
    const again = event('PostCreated', { id: 'p1', title: 'Again' });
    const early = event('CommentCreated', comment('c1', 'pending', 'p2'));
    apply(post, again, early);

    expect(changes).toEqual([
      ['p1', post.seq],
      ['p2', early.seq],
    ]);
  });
});

describe('the query projection, property', () => {
  /**
   * A small blog: a few posts (some created twice) and comments, each comment created (or not: a
   * course-style publisher may send only the decision), then decided, maybe updated.
   */
  const blog = fc
    .record({
      posts: fc.array(fc.boolean(), { minLength: 1, maxLength: 3 }),
      comments: fc.array(
        fc.record({
          post: fc.integer({ min: 0, max: 2 }),
          created: fc.boolean(),
          verdict: fc.constantFrom('approved' as const, 'rejected' as const),
          update: fc.option(fc.constantFrom<CommentStatus>('approved', 'rejected'), { nil: undefined }),
        }),
        { maxLength: 5 },
      ),
    })
    .map(({ posts, comments }) => {
      let at = 0;
      const make = <T extends QueryEvent['type']>(
        type: T,
        data: Extract<QueryEvent, { type: T }>['data'],
      ): QueryEvent => ({ id: `e${++at}`, seq: at, time: '', type, data }) as QueryEvent;
      const events: QueryEvent[] = [];
      posts.forEach((_, p) => events.push(make('PostCreated', { id: `p${p}`, title: `Post ${p}` })));
      comments.forEach(({ post, created, verdict, update }, i) => {
        const data = { id: `c${i}`, postId: `p${post}`, content: `text ${i}` };
        if (created) events.push(make('CommentCreated', { ...data, status: 'pending' }));
        events.push(make('CommentModerated', { ...data, status: verdict }));
        if (update) events.push(make('CommentUpdated', { ...data, content: `edited ${i}`, status: update }));
      });
      // A course-style publisher may create the same post twice: the first one stands.
      posts.forEach((again, p) => {
        if (again) events.push(make('PostCreated', { id: `p${p}`, title: `Again ${p}` }));
      });
      return events;
    });

  it('reaches the rows of the in-order stream from any order with any duplicates', () => {
    fc.assert(
      fc.property(
        blog.chain((events) =>
          fc.tuple(
            fc.constant(events),
            fc
              .subarray(events)
              .chain((again) =>
                fc.shuffledSubarray([...events, ...again], { minLength: events.length + again.length }),
              ),
          ),
        ),
        ([events, delivered]) => {
          const expected = open();
          expected.apply(...events);
          const actual = open();
          for (const e of delivered) actual.apply(e);
          expect(dump(actual.db)).toEqual(dump(expected.db));
          expect(feed(actual.model)).toEqual(feed(expected.model));
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('postJson', () => {
  it('serialises a post once and again only after it changes', () => {
    const { model, apply } = open();
    apply(event('PostCreated', { id: 'p1', title: 'Hello' }), event('CommentCreated', comment('c1', 'pending')));
    const stringify = jest.spyOn(JSON, 'stringify');

    const first = model.postJson('p1')!;
    const again = model.postJson('p1');
    apply(event('CommentModerated', comment('c1', 'approved')));
    const changed = model.postJson('p1')!;

    expect(again).toBe(first);
    expect(stringify).toHaveBeenCalledTimes(2);
    expect(JSON.parse(first).comments).toEqual([{ id: 'c1', content: '', status: 'pending' }]);
    expect(JSON.parse(changed)).toEqual(model.post('p1'));
    expect(JSON.parse(changed).comments).toEqual([{ id: 'c1', content: 'text c1', status: 'approved' }]);
    stringify.mockRestore();
  });

  it('keeps no more posts than the cache allows, in entries and in characters', () => {
    const { model, apply } = open({ cache: { maxEntries: 5, maxChars: 400 } });
    for (let i = 0; i < 50; i += 1) apply(event('PostCreated', { id: `p${i}`, title: `Post number ${i}` }));

    for (let i = 0; i < 50; i += 1) expect(JSON.parse(model.postJson(`p${i}`)!).id).toBe(`p${i}`);

    expect(model.cache.size).toBeLessThanOrEqual(5);
    expect(model.cache.heldChars).toBeLessThanOrEqual(400);
    expect(model.cache.size).toBeGreaterThan(0);
  });
});

describe('feedPage', () => {
  const { model, apply } = open();
  const created = Array.from({ length: 45 }, (_, i) =>
    event('PostCreated', { id: `p${i + 1}`, title: `Post ${i + 1}` }),
  );
  apply(...created);

  it('pages newest first with a cursor until the last page', () => {
    const seen: string[] = [];
    let cursor: number | undefined;
    for (;;) {
      const page = model.feedPage(20, cursor);
      seen.push(...page.posts.map((json) => JSON.parse(json).id));
      if (page.nextCursor === null) break;
      cursor = page.nextCursor;
    }
    expect(seen).toEqual(Array.from({ length: 45 }, (_, i) => `p${45 - i}`));
  });

  it('says there is no next page when the page ends at the oldest post', () => {
    expect(model.feedPage(5, created[5]!.seq)).toEqual({
      posts: created
        .slice(0, 5)
        .reverse()
        .map((e) => model.postJson((e.data as { id: string }).id)),
      nextCursor: null,
    });
  });

  it('answers an empty last page past the oldest post', () => {
    expect(model.feedPage(20, created[0]!.seq)).toEqual({ posts: [], nextCursor: null });
  });
});

describe('a feed page partly in the cache', () => {
  it('reads the posts it does not hold, with their own comments only', () => {
    const { model, apply } = open();
    for (let p = 1; p <= 3; p += 1)
      apply(
        event('PostCreated', { id: `p${p}`, title: `Post ${p}` }),
        event('CommentCreated', comment(`c${p}`, 'pending', `p${p}`)),
      );
    const middle = model.postJson('p2');

    const page = model.feedPage(3).posts.map((json) => JSON.parse(json));

    expect(page.map((post) => [post.id, post.comments.map((c: { id: string }) => c.id)])).toEqual([
      ['p3', ['c3']],
      ['p2', ['c2']],
      ['p1', ['c1']],
    ]);
    expect(JSON.stringify(page[1])).toBe(middle);
  });
});

describe('mapPage', () => {
  it('writes the course map in pages, oldest first, with hidden content hidden', () => {
    const { model, apply } = open();
    apply(
      ...MODERATED_POST.events.map(({ type, data }) => event(type, data)),
      event('PostCreated', { id: 'p2', title: 'Two' }),
      event('PostCreated', { id: 'p3', title: 'Three' }),
    );

    const first = model.mapPage(0, 2);
    const second = model.mapPage(first.last, 2);
    const third = model.mapPage(second.last, 2);

    expect([first.count, second.count, third.count]).toEqual([2, 1, 0]);
    expect(JSON.parse(`{${first.text},${second.text}}`)).toEqual({
      p1: MODERATED_POST.shown,
      p2: { id: 'p2', title: 'Two', comments: [] },
      p3: { id: 'p3', title: 'Three', comments: [] },
    });
  });
});
