import type { PublicComment } from '@mini-blog/common/events';
import { requestJson } from '../../../lib/api';

/** Adds a comment; the comments service answers with every comment of the post, the new one pending. */
export function addComment(postId: string, content: string, idempotencyKey?: string): Promise<PublicComment[]> {
  return requestJson<PublicComment[]>('POST', `/posts/${encodeURIComponent(postId)}/comments`, {
    body: { content },
    idempotencyKey,
  });
}
