import type { AddressInfo } from 'node:net';
import express from 'express';

/**
 * The same-run reference for the publish benchmark: a bare Express 5 JSON POST route, in its own
 * process as the bus is. It parses the body and answers 201 with a small JSON document, nothing else.
 */
const app = express();
app.use(express.json());
app.post('/events', (req, res) => {
  res.status(201).json({ id: (req.body as { id?: string }).id ?? null, seq: 0, duplicate: false });
});
const server = app.listen(0, '127.0.0.1', () => {
  process.send?.({ port: (server.address() as AddressInfo).port });
});
process.on('disconnect', () => process.exit(0));
