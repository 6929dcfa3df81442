import { createLogger, readOrExit, runService } from '@mini-blog/common';
import { createApp } from './http/app';
import { EventBus } from './bus';
import { loadBusConfig } from './config';

async function main(): Promise<void> {
  const config = readOrExit('event-bus', () => loadBusConfig());
  const logger = createLogger('event-bus', config.LOG_LEVEL);
  const bus = new EventBus(
    {
      dataDir: config.DATA_DIR,
      subscribers: config.SUBSCRIBERS,
      poisonAttempts: config.POISON_ATTEMPTS,
      retryBaseMs: config.RETRY_BASE_MS,
      retryMaxMs: config.RETRY_MAX_MS,
      timeoutMs: config.DELIVERY_TIMEOUT_MS,
      onWriterCrash: (err) => {
        logger.fatal({ err }, 'the writer thread died: nothing can be stored');
        process.exit(1);
      },
    },
    logger,
  );
  logger.info(
    { dataDir: config.DATA_DIR, head: bus.store.head, subscribers: config.SUBSCRIBERS.map(({ name, url }) => `${name}=${url}`) },
    'log opened',
  );
  await runService({
    app: createApp({ bus, logger }),
    port: config.PORT,
    host: config.HOST,
    logger,
    onListening: async () => bus.start(),
    onShutdown: () => bus.close(),
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`event-bus: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
