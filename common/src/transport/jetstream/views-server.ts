import { setTimeout as delay } from 'node:timers/promises';
import { z } from 'zod';
import { readCredential } from '../../auth/credentials';
import { baseConfigSchema, ConfigError, loadConfig } from '../../service/config';
import { createHttpApp } from '../../service/http-app';
import { createLogger } from '../../service/logger';
import { runService } from '../../service/run-service';
import { readOrExit } from '../../service/start-event-service';
import { backoffDelay } from '../backoff';
import { SERVICES, traceSourcesSetting } from '../../registry';
import { gatheredTracesRouter, parseTraceSources } from '../../service/trace-routes';
import { readJetStreamConfig } from './config';
import { createLink } from './link';
import { VIEWS_PRINCIPAL } from './subjects';
import { createJetStreamViews } from './views';

/**
 * The read-only views process of a JetStream deployment: where the event bus serves `/subscriptions`
 * and `/flow`, this serves them from the cluster (and `/traces`, gathered from the services), as the read-only principal `views` (it may read
 * the stream's and the consumers' state, and change nothing). `node common/dist/transport/jetstream/views-server.js`.
 */
const configSchema = baseConfigSchema.extend({
  PORT: baseConfigSchema.shape.PORT.default(4005),
  CREDENTIALS_DIR: z.string().trim().min(1),
});

/** Where the views gather traces from by default: every service on this machine. */
const DEFAULT_TRACE_SOURCES = traceSourcesSetting((name) => `http://localhost:${SERVICES[name].port}`);

function readConfig(env: NodeJS.ProcessEnv = process.env) {
  const config = loadConfig(configSchema, env);
  const password = readCredential(config.CREDENTIALS_DIR, VIEWS_PRINCIPAL)[0];
  if (!password) throw new ConfigError(`credential ${config.CREDENTIALS_DIR}/${VIEWS_PRINCIPAL}: is empty`);
  let traceSources: ReadonlyMap<string, string>;
  try {
    traceSources = parseTraceSources(env.TRACE_SOURCES ?? DEFAULT_TRACE_SOURCES);
  } catch (err) {
    throw new ConfigError(`TRACE_SOURCES: ${(err as Error).message}`);
  }
  return { ...config, ...readJetStreamConfig(env), password, traceSources };
}

async function main(): Promise<void> {
  const config = readOrExit('views', () => readConfig());
  const logger = createLogger('views', config.LOG_LEVEL);
  const link = createLink({
    servers: config.NATS_URL,
    user: VIEWS_PRINCIPAL,
    password: config.password,
    connectionName: `views-${config.REPLICA_ID}`,
    streamReplicas: config.NATS_STREAM_REPLICAS,
    timeoutMs: 5000,
    // The services create the streams; until one has, the views are not ready.
    ensureStreams: false,
  });
  const views = createJetStreamViews({ link: () => link.get(), logger });
  const app = createHttpApp({
    logger,
    isReady: () => link.current() !== undefined,
    routes: (app) => {
      app.use(views.router);
      // A trace gathered from every service: the views process makes no spans of its own.
      app.use(gatheredTracesRouter(config.traceSources, undefined));
    },
  });
  await runService({
    app,
    port: config.PORT,
    host: config.HOST,
    logger,
    // Not ready until the cluster answers: tried again with a backoff meanwhile.
    onListening: async () => {
      for (let attempt = 1; ; attempt += 1) {
        try {
          await link.get();
          return;
        } catch (err) {
          logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'cannot reach the cluster yet');
          await delay(backoffDelay(Math.min(attempt, 6), 250, 5000) + 100);
        }
      }
    },
    onShutdown: async () => {
      views.close();
      await link.close();
    },
  });
}

void main();
