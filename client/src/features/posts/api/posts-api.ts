import type { FeedPage, PostChange } from '@mini-blog/common/events';
import { openStream, query, requestJson, type StreamStatus } from '../../../lib/api';

export const FEED_PAGE_SIZE = 20;

export interface CreatedPost {
  readonly id: string;
  readonly title: string;
}

export function createPost(title: string, idempotencyKey?: string): Promise<CreatedPost> {
  return requestJson<CreatedPost>('POST', '/posts/create', { body: { title }, idempotencyKey });
}

/** One page of the feed, newest first; `cursor` is the previous page's `nextCursor`. */
export function fetchFeed(cursor: string | null, signal?: AbortSignal): Promise<FeedPage> {
  return requestJson<FeedPage>('GET', `/posts/feed${query({ limit: FEED_PAGE_SIZE, cursor })}`, { signal });
}

export interface FeedStreamHandlers {
  /** The stream's position when it (re)connected: every change up to it is in what a fetch returns now. */
  readonly onHello: (position: number) => void;
  readonly onChange: (change: PostChange) => void;
  /** The server no longer has the changes this client missed: read the feed again. */
  readonly onReset: () => void;
  readonly onOpen: (fresh: boolean) => void;
  readonly onStatus: (status: StreamStatus) => void;
}

export function openFeedStream({ onHello, onChange, onReset, onOpen, onStatus }: FeedStreamHandlers): () => void {
  return openStream('/posts/stream', {
    onOpen,
    onStatus,
    events: {
      hello: (data) => onHello((data as { position: number }).position),
      change: (data) => onChange(data as PostChange),
      reset: () => onReset(),
    },
  });
}
