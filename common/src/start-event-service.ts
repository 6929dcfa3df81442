import type { Express } from 'express';
import { backoffDelay, createBusClient, type BusClient } from './bus-client';
import { createConsumer, type Consumer, type ConsumerOptions } from './consumer';
import { createHttpApp } from './service/http-app';
import { ConfigError } from './service/config';
import { createLogger, type Logger } from './service/logger';
import { runService, type RunningService } from './service/run-service';

export interface EventServiceParts {
  readonly app: Express;
  readonly consumer: Consumer;
}

export interface EventServiceOptions extends ConsumerOptions {
  /** The service's own routes, beside the consumer's `POST /events` and the health routes. */
  readonly routes?: (app: Express) => void;
}

/** The app of an event-driven service: its consumer's `POST /events`, its routes, ready once caught up. */
export function createEventService({ routes, ...consumerOptions }: EventServiceOptions): EventServiceParts {
  const consumer = createConsumer(consumerOptions);
  const app = createHttpApp({
    logger: consumerOptions.logger,
    isReady: () => consumer.isReady,
    routes: (app) => {
      app.use(consumer.router);
      routes?.(app);
    },
  });
  return { app, consumer };
}

export interface StartEventServiceOptions {
  readonly name: string;
  /** Reads the env; a ConfigError stops the process with its message. */
  readonly config: () => { readonly PORT: number; readonly BUS_URL: string; readonly LOG_LEVEL: string };
  readonly create: (deps: { bus: BusClient; logger: Logger }) => EventServiceParts;
}

/**
 * The startup every event-driven service shares: listen at once (so liveness answers), replay the
 * log until caught up (readiness answers 503 until then, and the replay keeps retrying while the
 * bus is unreachable), stop gracefully on SIGTERM.
 */
export async function startEventService({ name, config: readConfig, create }: StartEventServiceOptions): Promise<RunningService> {
  const config = readOrExit(name, readConfig);
  const logger = createLogger(name, config.LOG_LEVEL);
  const bus = createBusClient({ url: config.BUS_URL });
  const { app, consumer } = create({ bus, logger });
  let stopped = false;
  const catchUp = async (): Promise<void> => {
    for (let attempt = 1; !stopped; attempt += 1) {
      try {
        await consumer.start();
        return;
      } catch (err) {
        const wait = backoffDelay(Math.min(attempt, 6), 250, 5000) + 100;
        logger.warn({ err: err instanceof Error ? err.message : String(err), retryInMs: Math.round(wait) }, 'cannot read the log yet');
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  };
  return runService({
    app,
    port: config.PORT,
    logger,
    onListening: catchUp,
    onShutdown: () => {
      stopped = true;
      consumer.close();
    },
  });
}

/** A configuration error is the operator's to fix: say what is wrong and exit, without a stack trace. */
export function readOrExit<C>(name: string, read: () => C): C {
  try {
    return read();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${name}: ${err.message}\n`);
    process.exit(1);
  }
}
