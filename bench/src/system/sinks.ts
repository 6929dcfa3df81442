import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Subscribers that only count: one HTTP server per name, answering 200 to every POST and counting
 * the distinct `data.id`s received (single events and arrays). Driven over IPC: `down` closes a
 * server and drops its connections (a crashed service), `up` listens again on the same port,
 * `missing` counts the ids `prefix0` to `prefix<total-1>` a subscriber never got.
 */
type Command =
  | { cmd: 'down' | 'up'; name: string }
  | { cmd: 'counts' }
  | { cmd: 'reset' }
  | { cmd: 'missing'; name: string; prefix: string; total: number };

const names = process.argv.slice(2);
const seen = new Map<string, Set<string>>();
const received = new Map<string, number>();
const servers = new Map<string, Server>();
const ports = new Map<string, number>();

function serve(name: string): Server {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    // A server taken down mid-request resets its connections: that is the point, not a failure.
    req.on('error', () => undefined);
    res.on('error', () => undefined);
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
        for (const event of Array.isArray(body) ? body : [body]) {
          seen.get(name)!.add(String((event as { data?: { id?: unknown } }).data?.id));
          received.set(name, received.get(name)! + 1);
        }
      } catch {
        // Counted as nothing received.
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    });
  });
  servers.set(name, server);
  return server;
}

function reset(): void {
  for (const name of names) {
    seen.set(name, new Set());
    received.set(name, 0);
  }
}

async function main(): Promise<void> {
  reset();
  for (const name of names) {
    const server = serve(name);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    ports.set(name, (server.address() as AddressInfo).port);
  }
  process.on('message', (command: Command) => {
    if (command.cmd === 'counts') {
      process.send?.(
        Object.fromEntries(
          names.map((name) => [name, { distinct: seen.get(name)!.size, received: received.get(name)! }]),
        ),
      );
    } else if (command.cmd === 'missing') {
      const got = seen.get(command.name)!;
      let missing = 0;
      for (let i = 0; i < command.total; i += 1) if (!got.has(`${command.prefix}${i}`)) missing += 1;
      process.send?.({ missing });
    } else if (command.cmd === 'reset') {
      reset();
      process.send?.({ ok: true });
    } else if (command.cmd === 'down') {
      const server = servers.get(command.name)!;
      server.close();
      server.closeAllConnections();
      process.send?.({ ok: true });
    } else {
      serve(command.name).listen(ports.get(command.name), '127.0.0.1', () => process.send?.({ ok: true }));
    }
  });
  process.send?.(Object.fromEntries(ports));
}

process.on('disconnect', () => process.exit(0));
void main();
