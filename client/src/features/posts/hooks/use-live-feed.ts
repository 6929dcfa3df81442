import type { PublicComment, PublicPost } from '@mini-blog/common/events';
import { useCallback, useEffect, useMemo, useReducer, useState } from 'react';
import type { StreamStatus } from '../../../lib/api';
import { fetchFeed, openFeedStream, type CreatedPost } from '../api/posts-api';
import { changeReceived } from '../../../lib/tracing';
import { initialLiveFeed, liveFeedReducer, visiblePosts } from '../model/live-feed';

export interface LiveFeed {
  readonly posts: readonly PublicPost[];
  readonly loaded: boolean;
  readonly hasMore: boolean;
  readonly status: StreamStatus;
  /** Why the feed could not be read, if the last attempt failed. */
  readonly loadError: unknown;
  readonly loadingMore: boolean;
  readonly loadMore: () => void;
  readonly postCreated: (post: CreatedPost) => void;
  readonly commentsAnswered: (postId: string, comments: readonly PublicComment[]) => void;
}

/**
 * The feed kept current by the query service's live stream. The stream is opened first and the
 * feed read after its `hello`, so no change can fall between the page and the stream; a `reset`
 * or a brand-new connection (which replays nothing) reads the feed again.
 */
export function useLiveFeed(): LiveFeed {
  const [state, dispatch] = useReducer(liveFeedReducer, initialLiveFeed);
  const [status, setStatus] = useState<StreamStatus>('connecting');
  const [loadError, setLoadError] = useState<unknown>(null);
  const [loadingMore, setLoadingMore] = useState(false);

  useEffect(() => {
    let position = 0;
    let resyncPending = true;
    let everLoaded = false;
    let inFlight: AbortController | undefined;

    const resync = async (since: number) => {
      inFlight?.abort();
      const controller = new AbortController();
      inFlight = controller;
      try {
        const page = await fetchFeed(null, controller.signal);
        everLoaded = true;
        dispatch({ type: 'resynced', page, position: since });
        setLoadError(null);
      } catch (err) {
        if (!controller.signal.aborted) setLoadError(err);
      }
    };

    const close = openFeedStream({
      onOpen: (fresh) => {
        if (fresh) resyncPending = true;
      },
      onHello: (serverPosition) => {
        position = serverPosition;
        if (!resyncPending) return;
        resyncPending = false;
        void resync(position);
      },
      onChange: (change) => {
        changeReceived(change.traceparent, change.post.id);
        position = Math.max(position, change.seq);
        dispatch({ type: 'changed', change });
      },
      onReset: () => void resync(position),
      onStatus: (next) => {
        setStatus(next);
        // Without a stream there is no hello to wait for: show what can be read meanwhile, or why not.
        if (next === 'reconnecting' && !everLoaded) void resync(position);
      },
    });
    return () => {
      close();
      inFlight?.abort();
    };
  }, []);

  const { nextCursor } = state;
  const loadMore = useCallback(() => {
    if (nextCursor === null) return;
    setLoadingMore(true);
    fetchFeed(nextCursor).then(
      (page) => {
        dispatch({ type: 'pageLoaded', page });
        setLoadError(null);
        setLoadingMore(false);
      },
      (err: unknown) => {
        setLoadError(err);
        setLoadingMore(false);
      },
    );
  }, [nextCursor]);

  const postCreated = useCallback((post: CreatedPost) => dispatch({ type: 'postCreated', post }), []);
  const commentsAnswered = useCallback(
    (postId: string, comments: readonly PublicComment[]) => dispatch({ type: 'commentsAnswered', postId, comments }),
    [],
  );
  const posts = useMemo(() => visiblePosts(state), [state]);

  return {
    posts,
    loaded: state.loaded,
    hasMore: nextCursor !== null,
    status,
    loadError,
    loadingMore,
    loadMore,
    postCreated,
    commentsAnswered,
  };
}
