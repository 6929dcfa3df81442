import type { PublicComment } from '@mini-blog/common/events';
import { CommentItem } from './comment-item';

export function CommentList({ comments }: { comments: readonly PublicComment[] }) {
  if (comments.length === 0) return <p className="comments-empty">No comments yet.</p>;
  return (
    <ul className="comments" aria-label="Comments">
      {comments.map((comment) => (
        <CommentItem key={comment.id} comment={comment} />
      ))}
    </ul>
  );
}
