import type { NewEvent } from '@mini-blog/common/events';
import type { Handled } from '@mini-blog/common/registry';

const comment = <S extends 'pending' | 'approved' | 'rejected'>(id: string, status: S) => ({
  id,
  postId: 'p1',
  content: `text ${id}`,
  status,
});

/**
 * A post whose comments are moderated, `a` approved, `b` rejected and `c` still pending: the events
 * in the order the services publish them, and the post as the course map shows it, the content of
 * the rejected and the pending comment hidden.
 */
export const MODERATED_POST: {
  readonly events: readonly NewEvent<Handled<'query'>>[];
  readonly shown: unknown;
} = {
  events: [
    { type: 'PostCreated', data: { id: 'p1', title: 'One' } },
    { type: 'CommentCreated', data: comment('a', 'pending') },
    { type: 'CommentCreated', data: comment('b', 'pending') },
    { type: 'CommentCreated', data: comment('c', 'pending') },
    { type: 'CommentUpdated', data: comment('a', 'approved') },
    { type: 'CommentUpdated', data: comment('b', 'rejected') },
  ],
  shown: {
    id: 'p1',
    title: 'One',
    comments: [
      { id: 'a', content: 'text a', status: 'approved' },
      { id: 'b', content: '', status: 'rejected' },
      { id: 'c', content: '', status: 'pending' },
    ],
  },
};
