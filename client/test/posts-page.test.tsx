import type { FeedPage, PublicPost } from '@mini-blog/common/events';
import { act, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { PostsPage } from '../src/features/posts';
import { FakeEventSource } from './support/fake-event-source';
import { installFetch, networkDown } from './support/fake-fetch';

const post = (id: string, title: string, version: number, comments: PublicPost['comments'] = []): PublicPost => ({
  id,
  title,
  createdSeq: version,
  version,
  comments,
});

function serveFeed(pages: () => FeedPage) {
  return installFetch((url) => {
    if (url.startsWith('/posts/feed')) return { status: 200, body: pages() };
    return { status: 404, body: { message: 'no such route' } };
  });
}

/** Opens the stream as the query service does: connection, then `hello`. */
async function connect(position: number): Promise<FakeEventSource> {
  const stream = FakeEventSource.latest('/posts/stream');
  await act(async () => {
    stream.open();
    stream.emit('hello', { position });
  });
  return stream;
}

const card = (title: string) => screen.getByRole('article', { name: title });

beforeEach(() => FakeEventSource.install());

describe('the posts page', () => {
  it('reads the feed once the stream has said hello, so no change falls in between', async () => {
    const fetch = serveFeed(() => ({ posts: [post('a', 'First post', 1)], nextCursor: null }));
    render(<PostsPage />);
    expect(fetch).not.toHaveBeenCalled();
    expect(screen.getByText('Loading posts…')).toBeInTheDocument();

    await connect(1);

    expect(await screen.findByRole('article', { name: 'First post' })).toBeInTheDocument();
    expect(fetch).toHaveBeenCalledWith('/posts/feed?limit=20', expect.anything());
  });

  it('says so when there are no posts yet', async () => {
    serveFeed(() => ({ posts: [], nextCursor: null }));
    render(<PostsPage />);
    await connect(0);

    expect(await screen.findByText(/No posts yet/)).toBeInTheDocument();
  });

  it('turns "awaiting moderation" into the approved comment when the change arrives', async () => {
    serveFeed(() => ({
      posts: [post('a', 'First post', 2, [{ id: 'c1', content: '', status: 'pending' }])],
      nextCursor: null,
    }));
    render(<PostsPage />);
    const stream = await connect(2);
    expect(
      await within(await screen.findByRole('article', { name: 'First post' })).findByText(
        'This comment is awaiting moderation',
      ),
    ).toBeInTheDocument();

    act(() =>
      stream.emit('change', {
        seq: 4,
        post: post('a', 'First post', 4, [{ id: 'c1', content: 'Well said', status: 'approved' }]),
      }),
    );

    expect(within(card('First post')).getByText('Well said')).toBeInTheDocument();
    expect(within(card('First post')).queryByText('This comment is awaiting moderation')).toBeNull();
  });

  it('shows a title as text, never as HTML', async () => {
    const title = '<img src=x onerror=alert(1)>';
    serveFeed(() => ({ posts: [post('a', title, 1)], nextCursor: null }));
    render(<PostsPage />);
    await connect(1);

    const heading = await screen.findByRole('heading', { name: title });
    expect(heading).toHaveTextContent(title);
    expect(heading.querySelector('img')).toBeNull();
  });

  it('shows "reconnecting" when the stream drops, and live again when it is back', async () => {
    serveFeed(() => ({ posts: [], nextCursor: null }));
    render(<PostsPage />);
    const stream = await connect(0);
    expect(screen.getByRole('status')).toHaveTextContent('Live');

    act(() => stream.drop());
    expect(screen.getByRole('status')).toHaveTextContent(/Reconnecting…/);

    act(() => stream.open());
    expect(screen.getByRole('status')).toHaveTextContent('Live');
  });

  it('opens a new stream after the browser gave one up, and reads the feed again since nothing is replayed', async () => {
    let feed: FeedPage = { posts: [post('a', 'Before', 1)], nextCursor: null };
    const fetch = serveFeed(() => feed);
    render(<PostsPage />);
    const first = await connect(1);
    await screen.findByRole('article', { name: 'Before' });

    act(() => first.fail());
    expect(screen.getByRole('status')).toHaveTextContent(/Reconnecting…/);
    feed = { posts: [post('b', 'While away', 5), post('a', 'Before', 1)], nextCursor: null };
    await waitFor(
      () => expect(FakeEventSource.instances.filter((source) => source.url === '/posts/stream')).toHaveLength(2),
      { timeout: 3000 },
    );
    await connect(5);

    expect(await screen.findByRole('article', { name: 'While away' })).toBeInTheDocument();
    expect(fetch).toHaveBeenCalledTimes(2);
    expect(screen.getByRole('status')).toHaveTextContent('Live');
  });

  it('reads the feed again on reset, keeping changes newer than the reset', async () => {
    let feed: FeedPage = { posts: [post('a', 'Old title', 1)], nextCursor: null };
    serveFeed(() => feed);
    render(<PostsPage />);
    const stream = await connect(1);
    await screen.findByRole('article', { name: 'Old title' });

    feed = { posts: [post('b', 'Written while away', 8), post('a', 'Old title', 1)], nextCursor: null };
    await act(async () => {
      stream.emit('hello', { position: 8 });
      stream.emit('reset', { position: 8 });
    });

    expect(await screen.findByRole('article', { name: 'Written while away' })).toBeInTheDocument();
    expect(screen.getAllByRole('article')).toHaveLength(2);
  });

  it('says the query service is unreachable when neither the stream nor the feed answers', async () => {
    installFetch(networkDown);
    render(<PostsPage />);

    act(() => FakeEventSource.latest('/posts/stream').drop());

    expect(await screen.findByRole('alert')).toHaveTextContent(/can't reach the query service/i);
  });

  it('adds a created post on top at once, and a comment on it as awaiting moderation', async () => {
    installFetch((url) => {
      if (url.startsWith('/posts/feed'))
        return { status: 200, body: { posts: [post('a', 'Older', 1)], nextCursor: null } };
      if (url === '/posts/create') return { status: 201, body: { id: 'n', title: 'Brand new' } };
      return { status: 201, body: [{ id: 'c9', content: '', status: 'pending' }] };
    });
    render(<PostsPage />);
    await connect(1);
    await screen.findByRole('article', { name: 'Older' });

    await userEvent.type(screen.getByLabelText('Title'), 'Brand new{Enter}');
    expect(screen.getAllByRole('article').map((article) => article.getAttribute('data-post-id'))).toEqual(['n', 'a']);

    await userEvent.type(within(card('Brand new')).getByRole('textbox'), 'Hi{Enter}');
    expect(within(card('Brand new')).getByText('This comment is awaiting moderation')).toBeInTheDocument();
  });

  it('loads older posts on request', async () => {
    installFetch((url) =>
      url.includes('cursor=')
        ? { status: 200, body: { posts: [post('a', 'Older', 1)], nextCursor: null } }
        : { status: 200, body: { posts: [post('b', 'Newer', 2)], nextCursor: '2' } },
    );
    render(<PostsPage />);
    await connect(2);
    await screen.findByRole('article', { name: 'Newer' });

    await userEvent.click(screen.getByRole('button', { name: 'Load older posts' }));

    expect(await screen.findByRole('article', { name: 'Older' })).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Load older posts' })).toBeNull();
  });
});
