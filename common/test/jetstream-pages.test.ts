import { contiguousFrom, type StoredEvent } from '../src/transport/jetstream/stream';

/** A stored message at `seq`; its other fields do not matter here. */
const storedAt = (seq: number): StoredEvent => ({
  seq,
  subject: 'mini-blog.events.PostCreated',
  id: `event-${seq}`,
  time: new Date(0),
  body: new Uint8Array(),
});
const seqsOf = (messages: readonly StoredEvent[]) => messages.map((message) => message.seq);

describe('contiguousFrom (the messages a page of the JetStream log may hold)', () => {
  it('keeps a span read whole', () => {
    expect(seqsOf(contiguousFrom(4, [5, 6, 7].map(storedAt)))).toEqual([5, 6, 7]);
  });

  it('ends the page before the first seq that was not read, so that the next read starts there instead of skipping it', () => {
    // 6 was not read (a fetch that ended early, a message lost on its way): the page must not reach 7.
    expect(seqsOf(contiguousFrom(4, [5, 7, 8].map(storedAt)))).toEqual([5]);
  });

  it('is empty when the seq right after the position was not read', () => {
    expect(contiguousFrom(4, [6, 7].map(storedAt))).toEqual([]);
  });
});
