import { rmSync } from 'node:fs';
import path from 'node:path';
import { parseTransportArgs } from './nats';
import { REPO_ROOT, startSystem } from './system';

/**
 * `npm start`: the whole system on one machine. PORT sets the gateway's port (default 8080),
 * DATA_DIR the bus's log folder (default ./data), and `--fresh` starts from an empty log.
 * `--transport=jetstream` runs the events through NATS JetStream (`--nats-nodes=3`: a cluster).
 */
async function main(): Promise<void> {
  const port = Number(process.env.PORT ?? 8080);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`PORT: must be a port number, not ${process.env.PORT}`);
  const dataDir = path.resolve(REPO_ROOT, process.env.DATA_DIR ?? 'data');
  if (process.argv.includes('--fresh')) {
    rmSync(dataDir, { recursive: true, force: true });
    process.stdout.write(`launcher   | removed ${dataDir}: starting from an empty log\n`);
  }

  const transport = parseTransportArgs(process.argv.slice(2));
  const system = await startSystem({ port, dataDir, transport });
  process.stdout.write(`\n  mini-blog is running: open ${system.url}\n  the log is in ${dataDir}; Ctrl-C stops everything\n\n`);

  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      process.stdout.write('launcher   | stopping every service\n');
      system.stop().then(() => process.exit(0), () => process.exit(1));
    });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`launcher: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
