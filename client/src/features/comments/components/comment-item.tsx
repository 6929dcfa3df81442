import type { PublicComment } from '@mini-blog/common/events';

/** A comment as the course's client shows it: its content only once moderation approved it. */
export function CommentItem({ comment }: { comment: PublicComment }) {
  switch (comment.status) {
    case 'approved':
      return <li className="comment comment--approved">{comment.content}</li>;
    case 'pending':
      return <li className="comment comment--pending">This comment is awaiting moderation</li>;
    case 'rejected':
      return <li className="comment comment--rejected">This comment has been rejected</li>;
  }
}
