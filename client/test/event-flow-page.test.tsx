import type { SubscriptionStatus } from '@mini-blog/common/events';
import { subscriptionStatus } from '@mini-blog/common/testing/browser';
import { act, render, screen, within } from '@testing-library/react';
import { EventFlowPage } from '../src/features/event-flow';
import { FakeEventSource } from './support/fake-event-source';
import { installFetch } from './support/fake-fetch';

const subscriptions: SubscriptionStatus[] = [
  subscriptionStatus('query', 2),
  subscriptionStatus('moderation', 1, {
    head: 2,
    lag: 1,
    inFlight: 1,
    attempts: 3,
    parked: 1,
    lastError: 'connection refused',
    lastErrorAt: '2026-01-01T10:00:00.000Z',
    types: ['CommentCreated'],
    batch: false,
  }),
];
const events = [
  { seq: 1, type: 'PostCreated', id: 'PostCreated:p1', time: '2026-01-01T10:00:00.000Z' },
  { seq: 2, type: 'CommentCreated', id: 'CommentCreated:c1', time: '2026-01-01T10:00:01.000Z' },
];

beforeEach(() => {
  FakeEventSource.install();
  installFetch((url) => {
    if (url === '/subscriptions') return { status: 200, body: subscriptions };
    if (url.startsWith('/flow?')) return { status: 200, body: { events, head: 2 } };
    return { status: 404, body: { message: 'no such route' } };
  });
});

async function openStream(): Promise<FakeEventSource> {
  render(<EventFlowPage />);
  const stream = FakeEventSource.latest('/flow/stream');
  await act(async () => stream.open());
  await screen.findByRole('table');
  return stream;
}

describe('the event flow page', () => {
  it('shows each subscriber with its cursor, lag, retries, parked count and last error', async () => {
    await openStream();

    const moderation = within(screen.getByRole('list', { name: 'Subscribers' })).getAllByRole('listitem')[1]!;
    expect(moderation).toHaveTextContent('moderation');
    expect(moderation).toHaveTextContent('1 behind');
    expect(moderation).toHaveTextContent(/Retries\s*3/);
    expect(moderation).toHaveTextContent(/Parked\s*1/);
    expect(moderation).toHaveTextContent('connection refused');
    expect(screen.getAllByRole('listitem')[0]).toHaveTextContent('Caught up');
  });

  it('lists the events with whether each subscriber has them, and updates as they are appended and delivered', async () => {
    const stream = await openStream();
    const row = (seq: number) => screen.getByRole('row', { name: new RegExp(`^${seq} `) });
    expect(row(2)).toHaveTextContent('moderation: not delivered yet');
    expect(row(1)).toHaveTextContent('moderation: not subscribed');
    expect(row(1)).toHaveTextContent('query: delivered');

    act(() => {
      stream.emit('appended', {
        seq: 3,
        type: 'CommentModerated',
        id: 'CommentModerated:c1',
        time: '2026-01-01T10:00:02.000Z',
      });
      stream.emit('delivered', { subscriber: 'moderation', cursor: 2 });
    });

    expect(row(3)).toHaveTextContent('CommentModerated:c1');
    expect(row(3)).toHaveTextContent('query: not delivered yet');
    expect(row(2)).toHaveTextContent('moderation: delivered');
  });

  it('shows only metadata', async () => {
    await openStream();

    const headers = within(screen.getByRole('table'))
      .getAllByRole('columnheader')
      .map((header) => header.textContent);
    expect(headers).toEqual(['Seq', 'Type', 'Publisher', 'Time', 'query', 'moderation', 'Id', 'Payload and trace']);
  });
});
