import { assertNever, type CommentCreated, type Envelope, type EventType, type NewEvent } from '@mini-blog/common';

/** CommentModerated is this service's own event: it is handled so that a replay sees it was published. */
export const HANDLED_TYPES: readonly EventType[] = ['CommentCreated', 'CommentModerated'];

/**
 * What the bus delivers live (the `types` of its subscription): its own CommentModerated is needed
 * only by the replay at startup, which reads the log itself, so delivering it would be an echo.
 */
export const DELIVERED_TYPES: readonly EventType[] = ['CommentCreated'];

export type Verdict = 'approved' | 'rejected';

/** Rejects a text that holds a blocked word as a whole word, in any letter case ("Orange!" but not "oranges"). */
export function createModerator(blockedWords: readonly string[]): (content: string) => Verdict {
  const blocked = new Set(blockedWords.map((word) => word.toLocaleLowerCase()));
  return (content) => {
    const words = content.toLocaleLowerCase().split(/[^\p{L}\p{N}'-]+/u);
    return words.some((word) => blocked.has(word)) ? 'rejected' : 'approved';
  };
}

export function commentModerated(comment: CommentCreated, status: Verdict): NewEvent<'CommentModerated'> {
  return { type: 'CommentModerated', id: `CommentModerated:${comment.id}`, data: { ...comment, status } };
}

/** Moderation keeps no state of its own: every new comment gets exactly one verdict, by its id. */
export function apply(moderate: (content: string) => Verdict, event: Envelope): NewEvent[] {
  switch (event.type) {
    case 'CommentCreated':
      return [commentModerated(event.data, moderate(event.data.content))];
    case 'CommentModerated':
    case 'PostCreated':
    case 'CommentUpdated':
      return [];
    default:
      return assertNever(event);
  }
}
