import type { PublicComment } from '@mini-blog/common/events';
import { render, screen, within } from '@testing-library/react';
import { CommentList } from '../src/features/comments/components/comment-list';

describe('a comment', () => {
  it('awaiting moderation says so and shows no content', () => {
    render(<CommentList comments={[{ id: 'c1', content: '', status: 'pending' }]} />);

    expect(screen.getByRole('listitem')).toHaveTextContent('This comment is awaiting moderation');
  });

  it('approved shows its content', () => {
    render(<CommentList comments={[{ id: 'c1', content: 'Lovely post', status: 'approved' }]} />);

    expect(screen.getByRole('listitem')).toHaveTextContent('Lovely post');
  });

  it('rejected says so and never shows its content, even if a response carried it', () => {
    render(<CommentList comments={[{ id: 'c1', content: 'orange', status: 'rejected' }]} />);

    const item = screen.getByRole('listitem');
    expect(item).toHaveTextContent('This comment has been rejected');
    expect(item).not.toHaveTextContent('orange');
  });

  it('renders content as text, never as HTML', () => {
    const comments: PublicComment[] = [{ id: 'c1', content: '<img src=x onerror=alert(1)>', status: 'approved' }];
    render(<CommentList comments={comments} />);

    const item = screen.getByRole('listitem');
    expect(item).toHaveTextContent('<img src=x onerror=alert(1)>');
    expect(within(item).queryByRole('img')).toBeNull();
  });

  it('list says when there are none yet', () => {
    render(<CommentList comments={[]} />);

    expect(screen.getByText('No comments yet.')).toBeInTheDocument();
  });
});
