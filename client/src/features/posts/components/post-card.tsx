import type { PublicComment, PublicPost } from '@mini-blog/common/events';
import { useId } from 'react';
import { Link, traceRoute } from '../../../app/router';
import { CommentForm, CommentList } from '../../comments';

export interface PostCardProps {
  readonly post: PublicPost;
  readonly onCommentsAnswered: (postId: string, comments: readonly PublicComment[]) => void;
}

export function PostCard({ post, onCommentsAnswered }: PostCardProps) {
  const headingId = useId();
  const count = post.comments.length;
  return (
    <article id={`post-${post.id}`} className="card post" aria-labelledby={headingId} data-post-id={post.id}>
      <header className="post__header">
        <h3 id={headingId} className="post__title">
          {post.title}
        </h3>
        <p className="post__meta">
          {count === 1 ? '1 comment' : `${count} comments`}
          {' · '}
          <Link to={traceRoute(`PostCreated:${post.id}`)} className="trace-link">
            Trace<span className="visually-hidden"> of “{post.title}”</span>
          </Link>
        </p>
      </header>
      <CommentList comments={post.comments} />
      <CommentForm
        postId={post.id}
        postTitle={post.title}
        onAdded={(comments) => onCommentsAnswered(post.id, comments)}
      />
    </article>
  );
}
