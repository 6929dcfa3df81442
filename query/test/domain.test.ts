import type { Envelope } from '@mini-blog/common';
import { apply, createState, feedPage, publicPostJson, toPublicPost, type QueryState } from '../src/domain';

let seq = 0;
const event = (type: Envelope['type'], data: object): Envelope =>
  ({ id: `e${++seq}`, seq, time: '', type, data }) as Envelope;
const comment = (id: string, status: 'pending' | 'approved' | 'rejected', postId = 'p1') => ({
  id,
  postId,
  content: `text ${id}`,
  status,
});

function view(state: QueryState) {
  return state.feed.map(toPublicPost).map(({ version: _version, createdSeq: _createdSeq, ...post }) => post);
}

function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]];
  return items.flatMap((item, i) =>
    permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]),
  );
}

describe('the query read model', () => {
  const stream = [
    event('PostCreated', { id: 'p1', title: 'Hello' }),
    event('CommentCreated', comment('c1', 'pending')),
    event('CommentModerated', comment('c1', 'approved')),
    event('CommentUpdated', comment('c1', 'approved')),
    event('CommentCreated', comment('c2', 'pending')),
    event('CommentUpdated', comment('c2', 'rejected')),
  ];

  function inOrder() {
    const state = createState();
    for (const e of stream) apply(state, e);
    return state;
  }

  it('joins posts and comments and hides content that is not approved', () => {
    expect(view(inOrder())).toEqual([
      {
        id: 'p1',
        title: 'Hello',
        comments: [
          { id: 'c1', content: 'text c1', status: 'approved' },
          { id: 'c2', content: '', status: 'rejected' },
        ],
      },
    ]);
  });

  it('converges to the in-order state whatever the order of the events', () => {
    const expected = view(inOrder());
    for (const order of permutations(stream)) {
      const state = createState();
      for (const e of order) apply(state, e);
      expect(view(state)).toEqual(expected);
    }
  });

  it('converges when every event is applied twice', () => {
    const state = createState();
    for (const e of [...stream, ...stream]) apply(state, e);
    expect(view(state)).toEqual(view(inOrder()));
  });

  it('lists no post for a comment whose post has not arrived yet', () => {
    const state = createState();
    apply(state, event('CommentCreated', comment('c9', 'pending', 'later')));
    expect(view(state)).toEqual([]);
    apply(state, event('PostCreated', { id: 'later', title: 'Late' }));
    expect(view(state)).toEqual([
      { id: 'later', title: 'Late', comments: [{ id: 'c9', content: '', status: 'pending' }] },
    ]);
  });

  it('tracks the version of each post as the last seq that changed it', () => {
    const state = inOrder();
    expect(state.posts.get('p1')?.version).toBe(stream[stream.length - 1]!.seq);
  });
});

describe('publicPostJson', () => {
  it('serialises a post once and again only after it changes', () => {
    const state = createState();
    apply(state, event('PostCreated', { id: 'p1', title: 'Hello' }));
    apply(state, event('CommentCreated', comment('c1', 'pending')));
    const post = state.posts.get('p1')!;
    const stringify = jest.spyOn(JSON, 'stringify');

    const first = publicPostJson(post);
    const again = publicPostJson(post);
    apply(state, event('CommentModerated', comment('c1', 'approved')));
    const changed = publicPostJson(post);

    expect(again).toBe(first);
    expect(stringify).toHaveBeenCalledTimes(2);
    expect(JSON.parse(first).comments).toEqual([{ id: 'c1', content: '', status: 'pending' }]);
    expect(JSON.parse(changed)).toEqual(toPublicPost(post));
    expect(JSON.parse(changed).comments).toEqual([{ id: 'c1', content: 'text c1', status: 'approved' }]);
    stringify.mockRestore();
  });
});

describe('feedPage', () => {
  const state = createState();
  for (let i = 1; i <= 45; i += 1) apply(state, event('PostCreated', { id: `p${i}`, title: `Post ${i}` }));

  it('pages newest first with a cursor until the last page', () => {
    const seen: string[] = [];
    let cursor: number | undefined;
    for (;;) {
      const page = feedPage(state, 20, cursor);
      seen.push(...page.posts.map((p) => p.id));
      if (page.nextCursor === null) break;
      cursor = page.nextCursor;
    }
    expect(seen).toEqual(Array.from({ length: 45 }, (_, i) => `p${45 - i}`));
  });

  it('answers an empty last page past the oldest post', () => {
    expect(feedPage(state, 20, 1)).toEqual({ posts: [], nextCursor: null });
  });
});
