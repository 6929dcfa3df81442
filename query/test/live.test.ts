import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
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

const post = (comments: number) => JSON.stringify({ id: 'p1', title: 'T', createdSeq: 1, version: 1, comments: Array.from({ length: comments }, (_, i) => ({ id: `c${i}`, content: 'x'.repeat(100), status: 'approved' })) });

describe('LiveChanges', () => {
  it('keeps changes up to a size in characters, and tells a client that missed older ones to reload', async () => {
    const live = new LiveChanges(5000, 3000);
    live.startCovering(0);
    for (let seq = 1; seq <= 4; seq += 1) live.publish(seq, post(10));

    expect(await eventsSeen(live, 4, '3', 2)).toEqual(['hello', 'change']);
    expect(await eventsSeen(live, 4, '1', 2)).toEqual(['hello', 'reset']);
  });

  it('keeps the latest change even when it alone is over the size', async () => {
    const live = new LiveChanges(5000, 100);
    live.startCovering(0);
    live.publish(1, post(1));
    live.publish(2, post(10));

    expect(await eventsSeen(live, 2, '1', 2)).toEqual(['hello', 'change']);
  });
});
