import type { CommentStatus } from './catalog';

/** A comment as every public answer shows it. */
export interface PublicComment {
  readonly id: string;
  readonly content: string;
  readonly status: CommentStatus;
}

/** A post with its comments, as the feed and the live stream show it. */
export interface PublicPost {
  readonly id: string;
  readonly title: string;
  /** The log position of PostCreated: the feed's order (newest first) and its cursor. */
  readonly createdSeq: number;
  /** The log position of the last event that changed this post or its comments. */
  readonly version: number;
  readonly comments: readonly PublicComment[];
}

/**
 * The content of a comment is public only once it is approved: a pending comment may still be
 * rejected, and a rejected one must never be shown.
 */
export function toPublicComment(comment: { id: string; content: string; status: CommentStatus }): PublicComment {
  return { id: comment.id, content: comment.status === 'approved' ? comment.content : '', status: comment.status };
}

/** One page of the feed. */
export interface FeedPage {
  readonly posts: readonly PublicPost[];
  readonly nextCursor: string | null;
}

/** A read-model change on the live stream: the whole post after the change. */
export interface PostChange {
  readonly seq: number;
  readonly post: PublicPost;
}

/**
 * A subscriber's delivery state, as the bus reports it on `GET /subscriptions`: never a payload,
 * an internal address or a subscriber's answer.
 */
export interface SubscriptionStatus {
  readonly name: string;
  /** Every event up to here is dealt with (delivered, filtered out or parked). */
  readonly cursor: number;
  /** The last event the subscriber acknowledged. */
  readonly acked: number;
  readonly head: number;
  readonly lag: number;
  readonly inFlight: number;
  readonly attempts: number;
  readonly parked: number;
  /** The seq of the rejected event a `mode: 'block'` subscriber is stopped at. */
  readonly blockedAt: number | null;
  /** A short reason (`HTTP 500`, `timeout`, `connection refused`), not the subscriber's answer. */
  readonly lastError: string | null;
  readonly lastErrorAt: string | null;
  readonly mode: 'park' | 'block';
  /** Only these types are delivered; `null` means every type. */
  readonly types: readonly string[] | null;
  readonly batch: boolean;
}
