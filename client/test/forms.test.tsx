import type { PublicComment } from '@mini-blog/common/events';
import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { CommentForm } from '../src/features/comments/components/comment-form';
import { CreatePostForm } from '../src/features/posts/components/create-post-form';
import { deferred, installFetch, networkDown, type FakeAnswer } from './support/fake-fetch';

describe('the new post form', () => {
  it('sends the title, clears the field and reports the created post', async () => {
    const fetch = installFetch(() => ({ status: 201, body: { id: 'p1', title: 'Hello' } }));
    const onCreated = jest.fn();
    render(<CreatePostForm onCreated={onCreated} />);

    await userEvent.type(screen.getByLabelText('Title'), 'Hello{Enter}');

    expect(fetch).toHaveBeenCalledWith(
      '/posts/create',
      expect.objectContaining({ method: 'POST', body: JSON.stringify({ title: 'Hello' }) }),
    );
    expect(onCreated).toHaveBeenCalledWith({ id: 'p1', title: 'Hello' });
    expect(screen.getByLabelText('Title')).toHaveValue('');
  });

  it('sends the same Idempotency-Key again after a lost answer, and a new one after a success', async () => {
    const answers: FakeAnswer[] = [
      { status: 502, body: { message: 'posts: unavailable, try again' } },
      { status: 201, body: { id: 'p1', title: 'Hello' } },
      { status: 201, body: { id: 'p2', title: 'Next' } },
    ];
    const fetch = installFetch(() => answers.shift()!);
    render(<CreatePostForm onCreated={jest.fn()} />);
    const title = screen.getByLabelText('Title');
    const keyOf = (call: number) =>
      (fetch.mock.calls[call]![1] as RequestInit & { headers: Record<string, string> }).headers['idempotency-key'];

    await userEvent.type(title, 'Hello{Enter}');
    await userEvent.click(screen.getByRole('button', { name: 'Publish' }));
    await screen.findByRole('button', { name: 'Publish' });
    await userEvent.type(title, 'Next{Enter}');

    expect(fetch).toHaveBeenCalledTimes(3);
    expect(keyOf(0)).toMatch(/^[0-9a-f]{32}$/);
    expect(keyOf(1)).toBe(keyOf(0));
    expect(keyOf(2)).not.toBe(keyOf(0));
  });

  it('disables the submit button while the request is out', async () => {
    const answer = deferred<FakeAnswer>();
    installFetch(() => answer.promise);
    render(<CreatePostForm onCreated={jest.fn()} />);

    await userEvent.type(screen.getByLabelText('Title'), 'Hello');
    await userEvent.click(screen.getByRole('button', { name: 'Publish' }));

    expect(screen.getByRole('button', { name: 'Publishing…' })).toBeDisabled();
    answer.resolve({ status: 201, body: { id: 'p1', title: 'Hello' } });
    expect(await screen.findByRole('button', { name: 'Publish' })).toBeEnabled();
  });

  it('keeps what was typed while the request was out', async () => {
    const answer = deferred<FakeAnswer>();
    installFetch(() => answer.promise);
    render(<CreatePostForm onCreated={jest.fn()} />);
    const title = screen.getByLabelText('Title');

    await userEvent.type(title, 'First{Enter}');
    await userEvent.type(title, ' and second');
    answer.resolve({ status: 201, body: { id: 'p1', title: 'First' } });

    expect(await screen.findByRole('button', { name: 'Publish' })).toBeEnabled();
    expect(title).toHaveValue('First and second');
  });

  it("shows the service's validation message next to the title and keeps what was typed", async () => {
    installFetch(() => ({
      status: 400,
      body: { message: 'title: must be at most 200 characters', fields: { title: 'must be at most 200 characters' } },
    }));
    render(<CreatePostForm onCreated={jest.fn()} />);

    const title = screen.getByLabelText('Title');
    await userEvent.type(title, 'Far too long{Enter}');

    expect(title).toHaveAccessibleDescription('Must be at most 200 characters');
    expect(title).toHaveAttribute('aria-invalid', 'true');
    expect(title).toHaveValue('Far too long');
  });

  it('says plainly when the posts service cannot be reached', async () => {
    installFetch(networkDown);
    render(<CreatePostForm onCreated={jest.fn()} />);

    await userEvent.type(screen.getByLabelText('Title'), 'Hello{Enter}');

    expect(screen.getByLabelText('Title')).toHaveAccessibleDescription(/can't reach the posts service/i);
    expect(screen.getByRole('button', { name: 'Publish' })).toBeEnabled();
  });

  it('passes on why a service that answers cannot save (503)', async () => {
    installFetch(() => ({ status: 503, body: { message: 'event bus unreachable' } }));
    render(<CreatePostForm onCreated={jest.fn()} />);

    await userEvent.type(screen.getByLabelText('Title'), 'Hello{Enter}');

    expect(screen.getByLabelText('Title')).toHaveAccessibleDescription(
      "The posts service can't do this right now (event bus unreachable). Try again in a moment.",
    );
  });

  it.each([
    ['an error page', undefined],
    ['its own message', { message: 'posts: unavailable, try again' }],
  ])('treats a gateway 502 with %s as the service being unreachable', async (_kind, body) => {
    installFetch(() => ({ status: 502, body }));
    render(<CreatePostForm onCreated={jest.fn()} />);

    await userEvent.type(screen.getByLabelText('Title'), 'Hello{Enter}');

    expect(screen.getByLabelText('Title')).toHaveAccessibleDescription(/can't reach the posts service/i);
  });
});

describe('the comment form', () => {
  const answer: PublicComment[] = [{ id: 'c1', content: '', status: 'pending' }];

  it("posts the comment to its post and hands over the post's comments", async () => {
    const fetch = installFetch(() => ({ status: 201, body: answer }));
    const onAdded = jest.fn();
    render(<CommentForm postId="p/1" postTitle="Hello" onAdded={onAdded} />);

    await userEvent.type(screen.getByRole('textbox', { name: 'Comment on “Hello”' }), 'Nice{Enter}');

    expect(fetch).toHaveBeenCalledWith(
      '/posts/p%2F1/comments',
      expect.objectContaining({ method: 'POST', body: JSON.stringify({ content: 'Nice' }) }),
    );
    expect(onAdded).toHaveBeenCalledWith(answer);
  });

  it('sends the same Idempotency-Key again after a lost answer, and a new one after a success', async () => {
    const answers: FakeAnswer[] = [
      { status: 502, body: { message: 'comments: unavailable, try again' } },
      { status: 201, body: [{ id: 'c1', content: '', status: 'pending' }] },
      { status: 201, body: [{ id: 'c2', content: '', status: 'pending' }] },
    ];
    const fetch = installFetch(() => answers.shift()!);
    render(<CommentForm postId="p1" postTitle="Hello" onAdded={jest.fn()} />);
    const content = screen.getByRole('textbox', { name: /comment/i });
    const keyOf = (call: number) =>
      (fetch.mock.calls[call]![1] as RequestInit & { headers: Record<string, string> }).headers['idempotency-key'];

    await userEvent.type(content, 'Nice{Enter}');
    await userEvent.click(screen.getByRole('button', { name: 'Add comment' }));
    await screen.findByRole('button', { name: 'Add comment' });
    await userEvent.type(content, 'Again{Enter}');

    expect(fetch).toHaveBeenCalledTimes(3);
    expect(keyOf(0)).toMatch(/^[0-9a-f]{32}$/);
    expect(keyOf(1)).toBe(keyOf(0));
    expect(keyOf(2)).not.toBe(keyOf(0));
  });

  it('disables the submit button while the request is out', async () => {
    const pendingAnswer = deferred<FakeAnswer>();
    installFetch(() => pendingAnswer.promise);
    render(<CommentForm postId="p1" postTitle="Hello" onAdded={jest.fn()} />);

    await userEvent.type(screen.getByRole('textbox', { name: /comment/i }), 'Nice{Enter}');

    expect(screen.getByRole('button', { name: 'Sending…' })).toBeDisabled();
    pendingAnswer.resolve({ status: 201, body: answer });
    expect(await screen.findByRole('button', { name: 'Add comment' })).toBeEnabled();
  });

  it("shows the service's validation message next to the comment field", async () => {
    installFetch(() => ({
      status: 400,
      body: { message: 'content: must not be empty', fields: { content: 'must not be empty' } },
    }));
    render(<CommentForm postId="p1" postTitle="Hello" onAdded={jest.fn()} />);

    await userEvent.click(screen.getByRole('button', { name: 'Add comment' }));

    expect(screen.getByRole('textbox', { name: /comment/i })).toHaveAccessibleDescription('Must not be empty');
  });

  it('shows a refusal without fields, such as an unknown post, next to the field', async () => {
    installFetch(() => ({ status: 404, body: { message: 'post p1: not found' } }));
    render(<CommentForm postId="p1" postTitle="Hello" onAdded={jest.fn()} />);

    await userEvent.type(screen.getByRole('textbox', { name: /comment/i }), 'Nice{Enter}');

    expect(screen.getByRole('textbox', { name: /comment/i })).toHaveAccessibleDescription('post p1: not found');
  });
});
