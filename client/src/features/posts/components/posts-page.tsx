import { useEffect, useRef } from 'react';
import { ConnectionStatus } from '../../../components/connection-status';
import { describeFailure } from '../../../lib/api';
import { useLiveFeed } from '../hooks/use-live-feed';
import { CreatePostForm } from './create-post-form';
import { PostCard } from './post-card';

export function PostsPage() {
  const feed = useLiveFeed();
  const { hasMore, loadingMore, loadMore, loadError } = feed;
  const sentinel = useRef<HTMLDivElement>(null);

  // Older pages load as the reader nears the end; the button stays for keyboards and old browsers.
  useEffect(() => {
    const target = sentinel.current;
    // After a failure only the button retries, so a service that is down is not asked in a loop.
    if (!target || !hasMore || loadingMore || loadError !== null || typeof IntersectionObserver === 'undefined')
      return undefined;
    const observer = new IntersectionObserver(
      (entries) => {
        if (entries.some((entry) => entry.isIntersecting)) loadMore();
      },
      { rootMargin: '400px' },
    );
    observer.observe(target);
    return () => observer.disconnect();
  }, [hasMore, loadingMore, loadMore, loadError]);

  return (
    <>
      <CreatePostForm onCreated={feed.postCreated} />
      <section className="feed" aria-labelledby="feed-heading">
        <div className="section-header">
          <h2 id="feed-heading">Posts</h2>
          <ConnectionStatus status={feed.status} service="query" />
        </div>
        {feed.loadError !== null && (
          <p className="notice notice--error" role="alert">
            {describeFailure(feed.loadError, 'query')}
          </p>
        )}
        {!feed.loaded && feed.loadError === null && <p className="placeholder">Loading posts…</p>}
        {feed.loaded && feed.posts.length === 0 && (
          <p className="empty-state">
            No posts yet. Write the first one above: it shows up here as soon as it is saved.
          </p>
        )}
        {feed.posts.length > 0 && (
          <ol className="post-list">
            {feed.posts.map((post) => (
              <li key={post.id}>
                <PostCard post={post} onCommentsAnswered={feed.commentsAnswered} />
              </li>
            ))}
          </ol>
        )}
        {hasMore && (
          <div ref={sentinel} className="load-more">
            <button type="button" className="button--secondary" onClick={loadMore} disabled={loadingMore}>
              {loadingMore ? 'Loading…' : 'Load older posts'}
            </button>
          </div>
        )}
      </section>
    </>
  );
}
