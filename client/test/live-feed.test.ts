import type { PostChange, PublicComment, PublicPost } from '@mini-blog/common/events';
import fc from 'fast-check';
import {
  initialLiveFeed,
  liveFeedReducer,
  visiblePosts,
  type LiveFeedAction,
  type LiveFeedState,
} from '../src/features/posts/model/live-feed';

const pending = (id: string): PublicComment => ({ id, content: '', status: 'pending' });
const approved = (id: string, content: string): PublicComment => ({ id, content, status: 'approved' });
const post = (id: string, version: number, comments: PublicComment[] = [], createdSeq = version): PublicPost => ({
  id,
  title: `Post ${id}`,
  createdSeq,
  version,
  comments,
});
const change = (seq: number, snapshot: PublicPost): PostChange => ({ seq, post: snapshot });

const run = (actions: readonly LiveFeedAction[], from: LiveFeedState = initialLiveFeed) =>
  actions.reduce(liveFeedReducer, from);
const changed = (c: PostChange): LiveFeedAction => ({ type: 'changed', change: c });
const loadedFeed = (posts: PublicPost[], nextCursor: string | null = null) =>
  run([{ type: 'resynced', page: { posts, nextCursor }, position: 0 }]);

describe('live feed reducer', () => {
  it('applies a page newest first and remembers where the next one starts', () => {
    const state = loadedFeed([post('b', 2), post('a', 1)], '1');

    expect(visiblePosts(state).map((p) => p.id)).toEqual(['b', 'a']);
    expect(state.nextCursor).toBe('1');
    expect(state.loaded).toBe(true);
  });

  it('applies the same change twice as once', () => {
    const moderated = change(4, post('a', 4, [approved('c1', 'hello')]));
    const once = run([changed(moderated)], loadedFeed([post('a', 1)]));
    const twice = run([changed(moderated), changed(moderated)], loadedFeed([post('a', 1)]));

    expect(twice).toEqual(once);
    expect(visiblePosts(twice)).toEqual([post('a', 4, [approved('c1', 'hello')])]);
  });

  it('ignores a change older than the version it already has', () => {
    const newer = change(5, post('a', 5, [approved('c1', 'hello')]));
    const older = change(3, post('a', 3, [pending('c1')]));

    const state = run([changed(newer), changed(older)], loadedFeed([post('a', 1)]));

    expect(visiblePosts(state)[0]!.comments).toEqual([approved('c1', 'hello')]);
  });

  it('keeps a newer streamed post when an older page of it arrives later', () => {
    const state = run([
      changed(change(7, post('a', 7, [approved('c1', 'hi')]))),
      { type: 'pageLoaded', page: { posts: [post('a', 2)], nextCursor: null } },
    ]);

    expect(visiblePosts(state)).toEqual([post('a', 7, [approved('c1', 'hi')])]);
  });

  it('puts a post it has never seen on top', () => {
    const state = run([changed(change(9, post('new', 9)))], loadedFeed([post('b', 2), post('a', 1)]));

    expect(visiblePosts(state).map((p) => p.id)).toEqual(['new', 'b', 'a']);
  });

  it('puts a post it has not seen where its creation places it', () => {
    const state = run([changed(change(9, post('middle', 9, [], 2)))], loadedFeed([post('c', 3), post('a', 1)]));

    expect(visiblePosts(state).map((p) => p.id)).toEqual(['c', 'middle', 'a']);
  });

  it('leaves a change to a post older than the loaded pages to that page', () => {
    const commentedOnOld = change(9, post('old', 9, [pending('c1')], 1));

    const state = run([changed(commentedOnOld)], loadedFeed([post('c', 3), post('b', 2)], '2'));

    expect(visiblePosts(state).map((p) => p.id)).toEqual(['c', 'b']);
  });

  it('does not repeat a post that a later page also contains', () => {
    const state = run(
      [{ type: 'pageLoaded', page: { posts: [post('b', 2), post('a', 1)], nextCursor: null } }],
      loadedFeed([post('c', 3), post('b', 2)], '2'),
    );

    expect(visiblePosts(state).map((p) => p.id)).toEqual(['c', 'b', 'a']);
    expect(state.nextCursor).toBeNull();
  });

  it('on resync replaces what it had, but keeps what the stream brought after the resync position', () => {
    const before = loadedFeed([post('stale', 1)]);
    const streamed = run([changed(change(12, post('fresh', 12)))], before);

    const state = liveFeedReducer(streamed, {
      type: 'resynced',
      page: { posts: [post('x', 10)], nextCursor: null },
      position: 10,
    });

    expect(visiblePosts(state).map((p) => p.id)).toEqual(['fresh', 'x']);
  });

  it('shows a post it just created before the read model has it, and lets the stream replace it', () => {
    const created = run([{ type: 'postCreated', post: { id: 'p', title: 'Mine' } }], loadedFeed([]));
    expect(visiblePosts(created)).toEqual([
      { id: 'p', title: 'Mine', createdSeq: Number.MAX_SAFE_INTEGER, version: 0, comments: [] },
    ]);

    const confirmed = liveFeedReducer(
      created,
      changed(change(3, { id: 'p', title: 'Mine', createdSeq: 3, version: 3, comments: [] })),
    );
    expect(visiblePosts(confirmed)).toEqual([{ id: 'p', title: 'Mine', createdSeq: 3, version: 3, comments: [] }]);
  });

  it('keeps a just-added comment through snapshots that predate it, then takes the snapshot that has it', () => {
    const answered = run(
      [{ type: 'commentsAnswered', postId: 'a', comments: [pending('c1')] }],
      loadedFeed([post('a', 1)]),
    );
    expect(visiblePosts(answered)[0]!.comments).toEqual([pending('c1')]);

    const unrelated = liveFeedReducer(answered, changed(change(2, post('a', 2))));
    expect(visiblePosts(unrelated)[0]!.comments).toEqual([pending('c1')]);

    const moderated = liveFeedReducer(unrelated, changed(change(4, post('a', 4, [approved('c1', 'hi')]))));
    expect(visiblePosts(moderated)[0]!.comments).toEqual([approved('c1', 'hi')]);
  });

  it('never lets a comments answer turn an approved comment back to pending', () => {
    const moderated = run([changed(change(4, post('a', 4, [approved('c1', 'hi')])))], loadedFeed([post('a', 1)]));

    const state = liveFeedReducer(moderated, { type: 'commentsAnswered', postId: 'a', comments: [pending('c1')] });

    expect(visiblePosts(state)[0]!.comments).toEqual([approved('c1', 'hi')]);
  });

  it('converges to the in-order result whatever the order and however often each change arrives', () => {
    // The history of two posts as the query service would stream it: one snapshot per log position.
    const history: PostChange[] = [
      change(1, post('a', 1)),
      change(2, post('b', 2)),
      change(3, post('a', 3, [pending('c1')])),
      change(4, post('a', 4, [approved('c1', 'first')])),
      change(5, post('b', 5, [pending('c2')])),
      change(6, post('b', 6, [{ id: 'c2', content: '', status: 'rejected' }])),
      change(7, post('a', 7, [approved('c1', 'first'), pending('c3')])),
    ];
    const byId = (state: LiveFeedState) => [...visiblePosts(state)].sort((x, y) => x.id.localeCompare(y.id));
    const expected = byId(run(history.map(changed), loadedFeed([])));

    const deliveries = fc
      .array(fc.integer({ min: 0, max: history.length - 1 }), { maxLength: 20 })
      .map((repeats) => [...history, ...repeats.map((i) => history[i]!)])
      .chain((all) => fc.shuffledSubarray(all, { minLength: all.length }));

    fc.assert(
      fc.property(deliveries, (arrivals) => {
        expect(byId(run(arrivals.map(changed), loadedFeed([])))).toEqual(expected);
      }),
    );
  });
});
