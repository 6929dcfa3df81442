import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Subscribers for the fan-out benchmark, in a process of their own: `count` HTTP servers that take
 * one envelope or an array per request, check that seqs arrive in order without gaps, and note
 * each event's lag (arrival time minus the time the bus stored it). Asked with a "report" message.
 */
interface Stats {
  received: number;
  last: number;
  outOfOrder: number;
  duplicates: number;
  maxLagMs: number;
  lags: number[];
}

const count = Number(process.argv[2] ?? 4);
const stats: Stats[] = [];

function listen(index: number): Promise<number> {
  const own: Stats = { received: 0, last: 0, outOfOrder: 0, duplicates: 0, maxLagMs: 0, lags: [] };
  stats[index] = own;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const now = Date.now();
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as
        { seq: number; time: string } | { seq: number; time: string }[];
      for (const event of Array.isArray(body) ? body : [body]) {
        if (event.seq <= own.last) own.duplicates += 1;
        else if (event.seq !== own.last + 1) own.outOfOrder += 1;
        if (event.seq > own.last) {
          own.last = event.seq;
          own.received += 1;
        }
        const lag = now - Date.parse(event.time);
        own.maxLagMs = Math.max(own.maxLagMs, lag);
        if (own.lags.length < 200_000) own.lags.push(lag);
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

void Promise.all(Array.from({ length: count }, (_, index) => listen(index))).then((ports) => process.send?.({ ports }));
process.on('message', (message) => {
  if (message === 'report') process.send?.({ stats });
});
process.on('disconnect', () => process.exit(0));
