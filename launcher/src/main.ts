import path from 'node:path';
import { readOrExit } from '@mini-blog/common';
import { loadLauncherConfig } from './config';
import { describeDelivery } from './extra-subscribers';
import { parseTransportArgs } from './nats';
import { REPO_ROOT, startSystem } from './system';

/**
 * `npm start`: the whole system on one machine (the settings are in ./config.ts); `--fresh`
 * starts from an empty log with new credentials. `--transport=jetstream` runs the events through
 * NATS JetStream (`--nats-nodes=3`: a cluster).
 */
async function main(): Promise<void> {
  const config = readOrExit('launcher', () => loadLauncherConfig());
  const dataDir = path.resolve(REPO_ROOT, config.DATA_DIR);
  const fresh = process.argv.includes('--fresh');
  if (fresh) process.stdout.write(`launcher   | removing ${dataDir}: an empty log and new credentials\n`);

  const transport = parseTransportArgs(process.argv.slice(2));
  const extraSubscribers = config.EXTRA_SUBSCRIBERS;
  const system = await startSystem({
    port: config.PORT,
    host: config.HOST,
    dataDir,
    fresh,
    transport,
    extraSubscribers,
  });
  const { created } = system.credentials;
  const subscribed = extraSubscribers.map(
    (subscriber) =>
      `  ${subscriber.name} (EXTRA_SUBSCRIBERS) is delivered at ${subscriber.url}: ${describeDelivery(subscriber)}
` +
      `    its credential (a Bearer token for GET /events, the key of x-bus-signature): ${path.join(system.credentialsDir, subscriber.name)}
`,
  );
  const shared =
    config.HOST === '127.0.0.1' || config.HOST === 'localhost' || config.HOST === '::1'
      ? ''
      : `\n  the gateway listens on ${config.HOST}: other machines can reach it`;
  process.stdout.write(
    `\n  mini-blog is running: open ${system.url}${shared}\n` +
      `  the log is in ${dataDir}; the credentials in ${system.credentialsDir}${created.length > 0 ? ` (new: ${created.join(', ')})` : ''}\n` +
      subscribed.join('') +
      '  Ctrl-C stops everything\n\n',
  );

  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      process.stdout.write('launcher   | stopping every service\n');
      system.stop().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`launcher: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
