import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import express from 'express';

/**
 * The read path's same-run reference, run as its own process like the query service: a bare
 * Express 5 app whose one GET answers a fixed JSON document (a real feed page, given as a file),
 * serialised on every request as any handler would.
 */
const document: unknown = JSON.parse(readFileSync(process.argv[2]!, 'utf8'));
const app = express();
app.get('/document', (_req, res) => {
  res.json(document);
});
const server = app.listen(0, '127.0.0.1', () => {
  process.send?.({ port: (server.address() as AddressInfo).port });
});
process.on('disconnect', () => process.exit(0));
