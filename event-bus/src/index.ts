import './instrumentation';
import { ADMIN } from '@mini-blog/common/auth';
import {
  createHttpServer,
  createLogger,
  listen,
  ProxyTrust,
  readOrExit,
  runService,
  streamLimitsFrom,
} from '@mini-blog/common/service';
import { readPrincipals } from './auth/principals';
import { EventBus } from './bus';
import { loadBusConfig, registryKeyOwnership } from './config';
import { createApp, createViewsApp } from './http/app';

async function main(): Promise<void> {
  const config = readOrExit('event-bus', () => loadBusConfig());
  const principals = readOrExit('event-bus', () => readPrincipals(config));
  const logger = createLogger('event-bus', config.LOG_LEVEL);
  const bus = new EventBus(
    {
      dataDir: config.DATA_DIR,
      subscribers: config.SUBSCRIBERS.map((subscriber) => ({
        ...subscriber,
        secrets: principals.secretsOf(subscriber.name),
      })),
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
    {
      dataDir: config.DATA_DIR,
      head: bus.store.head,
      subscribers: config.SUBSCRIBERS.map(({ name, url }) => `${name}=${url}`),
      faultSwitches: config.FAULT_SWITCHES ? 'on (/admin/faults)' : 'off',
    },
    'log opened',
  );
  // The views' listener has the API's timeouts and connection limit (runService's), and closes with it.
  const proxies = new ProxyTrust(config.TRUSTED_PROXIES);
  const views = createHttpServer(
    createViewsApp({
      bus,
      logger,
      streamLimits: streamLimitsFrom(config),
      traceSources: config.TRACE_SOURCES,
      proxies,
    }),
    {},
    proxies,
  );
  const viewsPort = await listen(views, config.VIEWS_PORT, config.HOST);
  logger.info({ host: config.HOST, port: viewsPort }, 'views listening');
  const readers = new Set([...config.SUBSCRIBERS.map((subscriber) => subscriber.name), ADMIN]);
  await runService({
    app: createApp({
      bus,
      logger,
      access: { principals, acl: config.PUBLISH_ACL, keys: registryKeyOwnership, readers },
      faultSwitches: config.FAULT_SWITCHES,
    }),
    port: config.PORT,
    host: config.HOST,
    proxies,
    logger,
    onListening: async () => bus.start(),
    onShutdown: async () => {
      views.closeAllConnections();
      await new Promise((resolve) => views.close(resolve));
      await bus.close();
    },
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`event-bus: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
