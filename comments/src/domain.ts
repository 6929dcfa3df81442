import {
  assertNever,
  SERVICES,
  MAX_COMMENT_LENGTH,
  MAX_ID_LENGTH,
  userTextSchema,
  type CommentStatus,
  type Envelope,
  type Handled,
  type NewEvent,
} from '@mini-blog/common';
import { z } from 'zod';

export const createCommentSchema = z.object({
  content: userTextSchema(MAX_COMMENT_LENGTH),
});
export const postIdSchema = z.string().min(1).max(MAX_ID_LENGTH);

export interface Comment {
  readonly id: string;
  readonly postId: string;
  readonly content: string;
  status: CommentStatus;
}

export interface CommentsState {
  readonly posts: Set<string>;
  readonly commentsByPost: Map<string, Comment[]>;
  readonly comments: Map<string, Comment>;
  /** Per post, the seq of the newest event with its comments' key: where the next comment must follow. */
  readonly lastKeyedSeq: Map<string, number>;
}

export function createState(): CommentsState {
  return { posts: new Set(), commentsByPost: new Map(), comments: new Map(), lastKeyedSeq: new Map() };
}

/**
 * The key of a post's comments in the log. A new comment is published on condition that the
 * newest event with this key is the one this service counted from, so two requests (or two
 * replicas) that both saw 499 comments cannot both add the 500th.
 */
export const commentsKey = (postId: string) => `${SERVICES.comments.keys.CommentCreated}${postId}`;

export function commentCreated(comment: { id: string; postId: string; content: string }): NewEvent<'CommentCreated'> {
  return {
    type: 'CommentCreated',
    id: `CommentCreated:${comment.id}`,
    key: commentsKey(comment.postId),
    data: { ...comment, status: 'pending' },
  };
}

/** The seq a new comment on the post is published after (0: none with the key yet). */
export function lastKeyedSeq(state: CommentsState, postId: string): number {
  return state.lastKeyedSeq.get(postId) ?? 0;
}

/** One update per comment and status: a repeated moderation result publishes nothing new. */
export function commentUpdated(comment: Comment): NewEvent<'CommentUpdated'> {
  const { id, postId, content, status } = comment;
  return { type: 'CommentUpdated', id: `CommentUpdated:${id}:${status}`, data: { id, postId, content, status } };
}

export function commentsOf(state: CommentsState, postId: string): readonly Comment[] {
  return state.commentsByPost.get(postId) ?? [];
}

function upsert(
  state: CommentsState,
  data: { id: string; postId: string; content: string; status: CommentStatus },
): Comment {
  const known = state.comments.get(data.id);
  if (known) return known;
  const comment: Comment = { ...data };
  state.comments.set(comment.id, comment);
  const list = state.commentsByPost.get(comment.postId);
  if (list) list.push(comment);
  else state.commentsByPost.set(comment.postId, [comment]);
  return comment;
}

/**
 * Applies one event; a moderation result becomes a CommentUpdated for the read model. A moderation
 * result that arrives before its comment creates the comment with that status: a later
 * CommentCreated must not set it back to pending.
 */
export function apply(state: CommentsState, event: Envelope<Handled<'comments'>>): NewEvent[] {
  switch (event.type) {
    case 'PostCreated':
      state.posts.add(event.data.id);
      return [];
    case 'CommentCreated':
      upsert(state, event.data);
      if (event.key === commentsKey(event.data.postId)) state.lastKeyedSeq.set(event.data.postId, event.seq);
      return [];
    case 'CommentModerated': {
      const comment = upsert(state, event.data);
      comment.status = event.data.status;
      return [commentUpdated(comment)];
    }
    case 'CommentUpdated': {
      const comment = upsert(state, event.data);
      if (comment.status === 'pending') comment.status = event.data.status;
      return [];
    }
    default:
      return assertNever(event);
  }
}
