import type { PublicComment } from '@mini-blog/common/events';
import { SingleFieldForm } from '../../../components/single-field-form';
import { tracedAction } from '../../../lib/tracing';
import { addComment } from '../api/comments-api';

export interface CommentFormProps {
  readonly postId: string;
  readonly postTitle: string;
  /** Receives every comment of the post, as the comments service answered. */
  readonly onAdded: (comments: PublicComment[]) => void;
}

export function CommentForm({ postId, postTitle, onAdded }: CommentFormProps) {
  return (
    <SingleFieldForm
      className="comment-form"
      name="content"
      label={
        <>
          Comment<span className="visually-hidden"> on “{postTitle}”</span>
        </>
      }
      placeholder="Say something kind"
      submitLabel="Add comment"
      sendingLabel="Sending…"
      service="comments"
      onSubmit={async (content, key) =>
        onAdded(await tracedAction('add comment', () => addComment(postId, content, key)))
      }
    />
  );
}
