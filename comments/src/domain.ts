import {
  assertNever,
  MAX_COMMENT_LENGTH,
  MAX_ID_LENGTH,
  userTextSchema,
  type CommentStatus,
  type Envelope,
  type NewEvent,
} from '@mini-blog/common/events';
import { SERVICES, type Handled } from '@mini-blog/common/registry';
import { z } from 'zod';

export const createCommentSchema = z.object({
  content: userTextSchema(MAX_COMMENT_LENGTH),
});
export const postIdSchema = z.string().min(1).max(MAX_ID_LENGTH);

export interface Comment {
  readonly id: string;
  readonly postId: string;
  readonly content: string;
  readonly status: CommentStatus;
}

/**
 * comments' projection of the log (its tables: `projection.ts`): the posts it knows, each comment
 * with its status, and per post the seq a new comment must follow. Reads answer from the database;
 * the writes are the reducer's, inside the transaction the mechanism opens for each event.
 */
export interface CommentsModel {
  hasPost(id: string): boolean;
  comment(id: string): Comment | undefined;
  /** A post's comments, in the order this service first learnt of them. */
  commentsOf(postId: string): Comment[];
  commentCount(postId: string): number;
  /** The seq of the post's newest comment published with its key: a new comment is published after it (0: none yet). */
  lastKeyedSeq(postId: string): number;
  addPost(id: string): void;
  /**
   * Stores a comment unless one with its id is stored (which then stays as it is); `seq`, the event
   * that names it first, orders the post's comments.
   */
  insertComment(comment: Comment, seq: number): void;
  setStatus(id: string, status: CommentStatus): void;
  setLastKeyedSeq(postId: string, seq: number): void;
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

/** One update per comment and status: a repeated moderation result publishes nothing new. */
export function commentUpdated(comment: Comment): NewEvent<'CommentUpdated'> {
  const { id, postId, content, status } = comment;
  return { type: 'CommentUpdated', id: `CommentUpdated:${id}:${status}`, data: { id, postId, content, status } };
}

/** The comment the event names: the one stored, or a new one with the event's data. */
function known(model: CommentsModel, data: Comment, seq: number): Comment {
  const stored = model.comment(data.id);
  if (stored) return stored;
  const comment = { id: data.id, postId: data.postId, content: data.content, status: data.status };
  model.insertComment(comment, seq);
  return comment;
}

/**
 * Applies one event; a moderation result becomes a CommentUpdated for the read model. A moderation
 * result that arrives before its comment creates the comment with that status: a later
 * CommentCreated must not set it back to pending, and a CommentUpdated changes only a pending one.
 */
export function apply(model: CommentsModel, event: Envelope<Handled<'comments'>>): NewEvent[] {
  switch (event.type) {
    case 'PostCreated':
      model.addPost(event.data.id);
      return [];
    case 'CommentCreated':
      // Stored unless known: a verdict that came first has set its status, which pending never overrides.
      model.insertComment(event.data, event.seq);
      if (event.key === commentsKey(event.data.postId)) model.setLastKeyedSeq(event.data.postId, event.seq);
      return [];
    case 'CommentModerated': {
      const comment = known(model, event.data, event.seq);
      if (comment.status !== event.data.status) model.setStatus(comment.id, event.data.status);
      return [commentUpdated({ ...comment, status: event.data.status })];
    }
    case 'CommentUpdated': {
      const comment = known(model, event.data, event.seq);
      if (comment.status === 'pending' && event.data.status !== 'pending')
        model.setStatus(comment.id, event.data.status);
      return [];
    }
    default:
      return assertNever(event);
  }
}
