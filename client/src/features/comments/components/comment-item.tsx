import type { PublicComment } from '@mini-blog/common/events';
import { Link, traceRoute } from '../../../app/router';

const TEXT: Record<PublicComment['status'], (comment: PublicComment) => string> = {
  approved: (comment) => comment.content,
  pending: () => 'This comment is awaiting moderation',
  rejected: () => 'This comment has been rejected',
};

/**
 * A comment as the course's client shows it: its content only once moderation approved it; and a
 * link to the trace of its way through the services.
 */
export function CommentItem({ comment }: { comment: PublicComment }) {
  return (
    <li id={`comment-${comment.id}`} className={`comment comment--${comment.status}`}>
      <span className="comment__text">{TEXT[comment.status](comment)}</span>
      <Link to={traceRoute(`CommentCreated:${comment.id}`)} className="trace-link">
        Trace<span className="visually-hidden"> of this comment</span>
      </Link>
    </li>
  );
}
