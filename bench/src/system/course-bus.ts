import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';

/**
 * The course's event bus, as the reference: every event pushed onto an in-memory array, then one
 * POST per subscriber, not awaited, with failures only logged; no durability, no retry, no order.
 * SUBSCRIBERS is a comma-separated list of URLs. Run as its own process, like ours. The POSTs go
 * through node:http with keep-alive (the course's axios opens a connection for each): the fastest
 * honest form of the design.
 */
const agent = new http.Agent({ keepAlive: true });
const subscribers = (process.env.SUBSCRIBERS ?? '').split(',').filter(Boolean);
const events: unknown[] = [];
let failedPosts = 0;

const app = express();
app.use(express.json());
app.post('/events', (req, res) => {
  const event: unknown = req.body;
  events.push(event);
  const body = JSON.stringify(event);
  for (const url of subscribers) {
    http
      .request(
        url,
        {
          method: 'POST',
          agent,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (answer) => answer.resume(),
      )
      .on('error', () => {
        failedPosts += 1;
      })
      .end(body);
  }
  res.send({ status: 'OK' });
});
app.get('/events', (_req, res) => {
  res.send(events);
});
app.get('/stats', (_req, res) => {
  res.send({ stored: events.length, failedPosts });
});
const server = app.listen(0, '127.0.0.1', () => {
  process.send?.({ port: (server.address() as AddressInfo).port });
});
process.on('disconnect', () => process.exit(0));
