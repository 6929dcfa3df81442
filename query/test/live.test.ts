import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { fakeExchange, waitFor } from '@mini-blog/common/testing';
import { LiveChanges } from '../src/live';

/** Connects to the live stream with a Last-Event-ID and returns the names of the first `count` events. */
async function eventsSeen(live: LiveChanges, position: number, lastEventId: string, count: number): Promise<string[]> {
  const app = express();
  app.get('/stream', (req, res) => live.attach(req, res, position));
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    return await new Promise((resolve, reject) => {
      const { port } = server.address() as AddressInfo;
      http
        .get({ port, host: '127.0.0.1', path: '/stream', headers: { 'last-event-id': lastEventId } }, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            text += chunk;
            const names = [...text.matchAll(/^event: (.+)$/gm)].map((match) => match[1]!);
            if (names.length >= count) {
              res.destroy();
              resolve(names.slice(0, count));
            }
          });
        })
        .on('error', reject);
    });
  } finally {
    server.closeAllConnections();
    server.close();
  }
}

const post = (comments: number) =>
  JSON.stringify({
    id: 'p1',
    title: 'T',
    createdSeq: 1,
    version: 1,
    comments: Array.from({ length: comments }, (_, i) => ({
      id: `c${i}`,
      content: 'x'.repeat(100),
      status: 'approved',
    })),
  });

describe('LiveChanges', () => {
  it('keeps changes up to a size in characters, and tells a client that missed older ones to reload', async () => {
    const live = new LiveChanges({ replayEvents: 5000, replayChars: 3000 });
    live.startCovering(0);
    for (let seq = 1; seq <= 4; seq += 1) live.publish(seq, post(10));

    expect(await eventsSeen(live, 4, '3', 2)).toEqual(['hello', 'change']);
    expect(await eventsSeen(live, 4, '1', 2)).toEqual(['hello', 'reset']);
  });

  it('keeps the latest change even when it alone is over the size', async () => {
    const live = new LiveChanges({ replayEvents: 5000, replayChars: 100 });
    live.startCovering(0);
    live.publish(1, post(1));
    live.publish(2, post(10));

    expect(await eventsSeen(live, 2, '1', 2)).toEqual(['hello', 'change']);
  });
});

describe('LiveChanges replays', () => {
  const small = (seq: number) => JSON.stringify({ id: 'p1', title: 'T', createdSeq: 1, version: seq, comments: [] });

  /**
   * Changes 1 to 3, and a client that asks for all of them (Last-Event-ID 0) and then reads nothing
   * more (its response full) once the first change of the replay is written.
   */
  async function replayHeldUp(live: LiveChanges) {
    live.startCovering(0);
    for (let seq = 1; seq <= 3; seq += 1) live.publish(seq, small(seq));
    const { req, res, response, written, events } = fakeExchange({ 'last-event-id': '0' });
    res.full = true;

    const attached = live.attach(req, response, 3);
    await waitFor(() => events().length === 2, 'the first change of the replay');
    return { res, written, events, attached };
  }

  it('keeps at most the set number of changes: one more missed is a reset', async () => {
    const live = new LiveChanges({ replayEvents: 3 });
    live.startCovering(0);
    for (let seq = 1; seq <= 5; seq += 1) live.publish(seq, small(seq));

    expect(await eventsSeen(live, 5, '2', 4)).toEqual(['hello', 'change', 'change', 'change']);
    expect(await eventsSeen(live, 5, '1', 2)).toEqual(['hello', 'reset']);
  });

  it('sends the replay as the client reads it, and the changes made meanwhile after it, in order', async () => {
    const live = new LiveChanges();
    const { res, written, events, attached } = await replayHeldUp(live);
    live.publish(4, small(4));
    res.full = false;
    res.emit('drain');
    await attached;
    live.publish(5, small(5));

    expect(events()).toEqual(['hello', 'change', 'change', 'change', 'change', 'change']);
    expect(written.flatMap((text) => [...text.matchAll(/^id: (\d+)$/gm)].map((match) => Number(match[1])))).toEqual([
      3, 1, 2, 3, 4, 5,
    ]);
  });

  it('ends a replay with a reset when what the client still had to read is no longer kept', async () => {
    const live = new LiveChanges({ replayEvents: 3 });
    const { res, events, attached } = await replayHeldUp(live);
    for (let seq = 4; seq <= 6; seq += 1) live.publish(seq, small(seq));
    res.full = false;
    res.emit('drain');
    await attached;
    live.publish(7, small(7));

    expect(events()).toEqual(['hello', 'change', 'reset', 'change']);
  });

  it('stops a replay, and never sends live changes, to a client that leaves during it', async () => {
    const live = new LiveChanges();
    const { res, events, attached } = await replayHeldUp(live);
    res.destroy();
    await attached;
    live.publish(4, small(4));

    expect(events()).toEqual(['hello', 'change']);
    expect(live.clients).toBe(0);
  });
});
