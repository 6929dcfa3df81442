import type { JsMsg } from '@nats-io/jetstream';
import type { Envelope } from '../src/events';
import { LiveConsumer } from '../src/transport/jetstream/live-consumer';
import type { Link } from '../src/transport/jetstream/link';
import { subjectOf } from '../src/transport/jetstream/subjects';
import type { DeliverySink } from '../src/transport/types';
import { silentLogger } from '../src/service/logger';
import { waitFor } from '../src/testing';

/** A message of the durable consumer: its stream seq, the consumer's delivery number, and how often it was delivered. */
function message(seq: number, deliverySequence: number, deliveryCount: number): JsMsg {
  const fake = {
    seq,
    subject: subjectOf('PostCreated'),
    headers: { get: (name: string) => (name === 'Nats-Msg-Id' ? `PostCreated:p${seq}` : '') },
    data: Buffer.from(JSON.stringify({ id: `p${seq}`, title: `post ${seq}` })),
    info: { deliverySequence, deliveryCount, pending: 0, timestampNanos: Date.now() * 1e6 },
    ack: () => undefined,
    nak: () => undefined,
    term: () => undefined,
  };
  return fake as unknown as JsMsg;
}

/** A link whose consumer (made at stream seq `startAfter` + 1) hands out `messages`, then waits until stopped. */
function fakeLink(startAfter: number, messages: readonly JsMsg[]): Link {
  const info = {
    delivered: { consumer_seq: 0, stream_seq: startAfter },
    num_pending: messages.length,
    num_ack_pending: 0,
  };
  let stop = () => undefined as void;
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  const consumed = {
    stop,
    async *[Symbol.asyncIterator]() {
      yield* messages;
      await stopped;
    },
  };
  const fake = {
    manager: {
      consumers: {
        delete: async () => true,
        add: async (_stream: string, config: object) => ({ ...info, config }),
        info: async () => info,
      },
    },
    client: { consumers: { getConsumerFromInfo: () => ({ consume: async () => consumed }) } },
  };
  return fake as unknown as Link;
}

describe('LiveConsumer', () => {
  it('gives no cursor to the first delivery after a redelivered event: the messages between went by before it', async () => {
    const cursors: (number | undefined)[] = [];
    const sink: DeliverySink = {
      name: 'comments',
      isReady: true,
      currentPosition: 9,
      whenReady: async () => undefined,
      deliver: async (_events: readonly Envelope[], cursor?: number) => void cursors.push(cursor),
      syncToHead: async () => undefined,
    };
    // 10 and 11 went by first (11 perhaps to another process of the same consumer); then 5, delivered again, and 12.
    const link = fakeLink(9, [message(10, 1, 1), message(5, 2, 2), message(12, 3, 1)]);
    const live = new LiveConsumer(async () => link, sink, {
      name: async () => 'comments-0',
      owned: async () => true,
      logger: silentLogger(),
    });

    live.start();
    await waitFor(() => cursors.length === 3, 'three deliveries');
    await live.stop(false);

    expect(cursors).toEqual([9, undefined, undefined]);
  });
});
