import './instrumentation';
import path from 'node:path';
import { readOrExit } from '@mini-blog/common/service';
import { loadLauncherConfig } from './config';
import { startupBanner } from './banner';
import { parseTransportArgs } from './nats';
import { REPO_ROOT, startSystem } from './system';

/**
 * `npm start`: the whole system on one machine (the settings are in ./config.ts); `--fresh`
 * starts from an empty log with new credentials. `--transport=jetstream` runs the events through
 * NATS JetStream (`--nats-nodes=3`: a cluster). `--faults` turns the fault switches on (the
 * client's "Break it" panel, `blogctl fault`), for the admin credential only.
 */
async function main(): Promise<void> {
  const config = readOrExit('launcher', () => loadLauncherConfig());
  const dataDir = path.resolve(REPO_ROOT, config.DATA_DIR);
  const fresh = process.argv.includes('--fresh');
  const faultSwitches = process.argv.includes('--faults');
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
    faultSwitches,
  });
  process.stdout.write(
    startupBanner({
      url: system.url,
      host: config.HOST,
      port: Number(new URL(system.url).port),
      dataDir,
      credentialsDir: system.credentialsDir,
      created: system.credentials.created,
      extraSubscribers,
      faultSwitches,
    }),
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
