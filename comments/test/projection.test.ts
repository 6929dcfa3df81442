import type { CommentStatus, Envelope } from '@mini-blog/common/events';
import type { Handled } from '@mini-blog/common/registry';
import { openTestProjection } from '@mini-blog/common/testing';
import fc from 'fast-check';
import { commentCreated, commentsKey } from '../src/domain';
import { commentsProjection } from '../src/projection';

type Event = Envelope<Handled<'comments'>>;
type Verdict = Exclude<CommentStatus, 'pending'>;

/** Events as the log holds them: seq 1, 2, 3... in the order given. */
function inLog(events: readonly Omit<Event, 'seq' | 'time'>[]): Event[] {
  return events.map((event, index) => ({ ...event, seq: index + 1, time: '' }) as Event);
}

/** A fresh projection with `events` applied in seq order; the reactions they caused, in order. */
function project(events: readonly Event[]) {
  const { db, model } = openTestProjection(commentsProjection);
  const reactions = events.flatMap((event) => commentsProjection.apply(model, event) ?? []);
  return { db, model, reactions };
}

const post = (id: string) => ({ type: 'PostCreated', id: `PostCreated:${id}`, data: { id, title: 'A post' } }) as const;
const created = (id: string, postId = 'p1', content = `text ${id}`) => ({
  type: 'CommentCreated' as const,
  id: `CommentCreated:${id}`,
  data: { id, postId, content, status: 'pending' as const },
});
/** A comment as this service publishes it: with its post's key. */
const keyed = (id: string, postId = 'p1') => ({
  ...commentCreated({ id, postId, content: `text ${id}` }),
  id: `CommentCreated:${id}`,
});
const moderated = (id: string, status: Verdict, postId = 'p1') => ({
  type: 'CommentModerated' as const,
  id: `CommentModerated:${id}:${status}`,
  data: { id, postId, content: `text ${id}`, status },
});
const updated = (id: string, status: CommentStatus, postId = 'p1') => ({
  type: 'CommentUpdated' as const,
  id: `CommentUpdated:${id}:${status}`,
  data: { id, postId, content: `text ${id}`, status },
});

describe('the comments projection', () => {
  it('knows the posts of the log, and no other', () => {
    const { model } = project(inLog([post('p1'), post('p1')]));

    expect(model.hasPost('p1')).toBe(true);
    expect(model.hasPost('p2')).toBe(false);
  });

  it("lists a post's comments in the order it learnt of them, with their status, and counts them", () => {
    const { model } = project(
      inLog([post('p1'), created('a'), created('x', 'p2'), created('b'), moderated('a', 'approved'), created('c')]),
    );

    expect(model.commentsOf('p1')).toEqual([
      { id: 'a', postId: 'p1', content: 'text a', status: 'approved' },
      { id: 'b', postId: 'p1', content: 'text b', status: 'pending' },
      { id: 'c', postId: 'p1', content: 'text c', status: 'pending' },
    ]);
    expect(model.commentCount('p1')).toBe(3);
    expect(model.commentCount('p2')).toBe(1);
    expect(model.commentCount('none')).toBe(0);
    expect(model.commentsOf('none')).toEqual([]);
    expect(model.comment('x')).toEqual({ id: 'x', postId: 'p2', content: 'text x', status: 'pending' });
    expect(model.comment('nope')).toBeUndefined();
  });

  it("keeps per post the seq of its newest comment published with the post's key, and ignores those without it", () => {
    const { model } = project(inLog([post('p1'), keyed('a'), keyed('b'), created('c'), keyed('y', 'p2')]));

    expect(model.lastKeyedSeq('p1')).toBe(3);
    expect(model.lastKeyedSeq('p2')).toBe(5);
    expect(model.lastKeyedSeq('none')).toBe(0);
    expect(keyed('a').key).toBe(commentsKey('p1'));
  });

  it('keeps a comment once and its first content, whatever repeats it', () => {
    const { model } = project(
      inLog([created('a'), { ...created('a'), id: 'again' }, { ...created('a', 'p1', 'other text'), id: 'other' }]),
    );

    expect(model.commentsOf('p1')).toEqual([{ id: 'a', postId: 'p1', content: 'text a', status: 'pending' }]);
  });

  it('reacts to each verdict with one CommentUpdated per comment and status, its id derived from both', () => {
    const { reactions } = project(
      inLog([created('a'), moderated('a', 'approved'), { ...moderated('a', 'approved'), id: 'again' }]),
    );

    expect(reactions).toEqual([
      {
        type: 'CommentUpdated',
        id: 'CommentUpdated:a:approved',
        data: { id: 'a', postId: 'p1', content: 'text a', status: 'approved' },
      },
      {
        type: 'CommentUpdated',
        id: 'CommentUpdated:a:approved',
        data: { id: 'a', postId: 'p1', content: 'text a', status: 'approved' },
      },
    ]);
  });

  it('takes a verdict that comes before its comment, and the comment does not set it back to pending', () => {
    const { model, reactions } = project(inLog([moderated('a', 'rejected'), created('a')]));

    expect(model.comment('a')?.status).toBe('rejected');
    expect(reactions.map((reaction) => reaction.id)).toEqual(['CommentUpdated:a:rejected']);
  });

  it('lets a CommentUpdated decide a pending comment, never change a decided one, and never undo one to pending', () => {
    const { model } = project(
      inLog([
        created('a'),
        updated('a', 'approved'),
        created('b'),
        moderated('b', 'rejected'),
        updated('b', 'approved'),
        updated('c', 'rejected'),
        updated('c', 'pending'),
      ]),
    );

    expect(model.commentsOf('p1').map(({ id, status }) => [id, status])).toEqual([
      ['a', 'approved'],
      ['b', 'rejected'],
      ['c', 'rejected'],
    ]);
  });

  it('converges, whatever order the events of each comment are in: the verdict stands, each comment once, one reaction id per verdict', () => {
    const comments = fc.uniqueArray(
      fc.record({
        id: fc.stringMatching(/^[a-z0-9]{1,6}$/),
        verdict: fc.constantFrom<Verdict>('approved', 'rejected'),
      }),
      { selector: (comment) => comment.id, maxLength: 8 },
    );
    const scenario = comments.chain((list) =>
      fc
        .shuffledSubarray(
          list.flatMap(({ id, verdict }) => [created(id), moderated(id, verdict), updated(id, verdict)]),
          { minLength: list.length * 3 },
        )
        .map((events) => ({ list, events })),
    );

    fc.assert(
      fc.property(scenario, ({ list, events }) => {
        const { model, reactions } = project(inLog(events));

        expect(
          model
            .commentsOf('p1')
            .map(({ id, status }) => [id, status])
            .sort(),
        ).toEqual(list.map(({ id, verdict }) => [id, verdict]).sort());
        expect(new Set(reactions.map((reaction) => reaction.id))).toEqual(
          new Set(list.map(({ id, verdict }) => `CommentUpdated:${id}:${verdict}`)),
        );
      }),
      { numRuns: 200 },
    );
  });

  it('answers its reads from indexes, not by scanning the tables', () => {
    const { db } = project([]);
    const plans = [
      ['SELECT 1 FROM posts WHERE id = ?', 'p1'],
      ['SELECT id FROM comments WHERE id = ?', 'a'],
      ['SELECT id, status FROM comments WHERE post_id = ? ORDER BY seq', 'p1'],
      ['SELECT count(*) FROM comments WHERE post_id = ?', 'p1'],
      ['SELECT last_seq FROM comment_keys WHERE post_id = ?', 'p1'],
    ].map(([sql, value]) =>
      db
        .prepare<[string], { detail: string }>(`EXPLAIN QUERY PLAN ${sql}`)
        .all(value!)
        .map((step) => step.detail)
        .join('; '),
    );

    for (const plan of plans) expect(plan).toMatch(/^SEARCH /);
    expect(plans.join('\n')).not.toMatch(/TEMP B-TREE/);
  });
});
