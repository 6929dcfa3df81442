import type { Express } from 'express';
import { createConsumer, type ApplyEvent, type Consumer, type ConsumerOptions } from './consumer';
import type { Envelope, NewEvent } from './events';
import { replayedTypes, SERVICES, type Handled, type SubscriberName } from './registry';
import { ConfigError, type BusConfig } from './service/config';
import { createHttpApp } from './service/http-app';
import { createLogger, type Logger } from './service/logger';
import { runService, type RunningService } from './service/run-service';
import { backoffDelay } from './transport/backoff';
import { createTransport } from './transport';
import type { EventTransport } from './transport/transport';

export interface EventServiceParts {
  readonly app: Express;
  readonly consumer: Consumer;
}

/** What `startEventService` hands a service's `createApp`. */
export interface EventServiceDeps {
  /** The log: publishing and reading, and live delivery into this service's consumer. */
  readonly bus: EventTransport;
  readonly logger: Logger;
  /** Browser origins allowed to call the public routes (`CORS_ORIGINS`); none when left out. */
  readonly corsOrigins?: readonly string[];
}

export interface EventServiceOptions<S extends SubscriberName>
  extends EventServiceDeps, Omit<ConsumerOptions, 'bus' | 'name' | 'types' | 'apply' | 'logger'> {
  /** The service, by its registry entry: what it handles comes from there. */
  readonly name: S;
  /**
   * The service's reducer, typed over the events the registry says it handles: adding an event type
   * to the catalog asks nothing of a service that does not handle it.
   */
  readonly apply: (event: Envelope<Handled<S>>) => readonly NewEvent[] | void;
  /** The service's own routes, beside the transport's delivery routes and the health routes. */
  readonly routes?: (app: Express) => void;
}

/**
 * The app of an event-driven service: its consumer fed by the transport's live delivery (on the HTTP
 * transport, the bus's `POST /events`), its routes, ready once caught up.
 */
export function createEventService<S extends SubscriberName>({
  routes,
  bus,
  apply,
  corsOrigins,
  ...consumerOptions
}: EventServiceOptions<S>): EventServiceParts {
  const handles: ReadonlySet<string> = new Set(SERVICES[consumerOptions.name].handles);
  // Only the registry's types reach the reducer (its own reactions are read, not applied), so its narrower type holds.
  const applyHandled: ApplyEvent = (event) =>
    handles.has(event.type) ? apply(event as Envelope<Handled<S>>) : undefined;
  const consumer = createConsumer({
    ...consumerOptions,
    bus,
    types: replayedTypes(consumerOptions.name),
    apply: applyHandled,
  });
  const live = bus.connect(consumer);
  const app = createHttpApp({
    logger: consumerOptions.logger,
    isReady: () => consumer.isReady && bus.isReady(),
    corsOrigins,
    internalPaths: live.paths,
    routes: (app) => {
      if (live.handler) app.use(live.handler);
      routes?.(app);
    },
  });
  return { app, consumer };
}

export interface StartEventServiceOptions {
  /** The service, and the principal whose credential it reads. */
  readonly name: SubscriberName;
  /** Reads the env; a ConfigError stops the process with its message. */
  readonly config: () => BusConfig;
  readonly create: (deps: EventServiceDeps) => EventServiceParts;
}

/**
 * The startup every event-driven service shares: the transport `BUS_TRANSPORT` names, listen at once
 * (so liveness answers), replay the log until caught up (readiness answers 503 until then, and the
 * replay keeps retrying while the log is unreachable), stop gracefully on SIGTERM.
 */
export async function startEventService({
  name,
  config: readConfig,
  create,
}: StartEventServiceOptions): Promise<RunningService> {
  const config = readOrExit(name, readConfig);
  const logger = createLogger(name, config.LOG_LEVEL);
  const bus = await createTransport({ name, config, logger }).catch((err: unknown) => exitOnConfigError(name, err));
  const { app, consumer } = create({ bus, logger, corsOrigins: config.CORS_ORIGINS });
  let stopped = false;
  const catchUp = async (): Promise<void> => {
    for (let attempt = 1; !stopped; attempt += 1) {
      try {
        await consumer.start();
        return;
      } catch (err) {
        const wait = backoffDelay(Math.min(attempt, 6), 250, 5000) + 100;
        logger.warn(
          { err: err instanceof Error ? err.message : String(err), retryInMs: Math.round(wait) },
          'cannot read the log yet',
        );
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  };
  return runService({
    app,
    port: config.PORT,
    host: config.HOST,
    logger,
    onListening: catchUp,
    onShutdown: async () => {
      stopped = true;
      consumer.close();
      await bus.close();
    },
  });
}

/** A configuration error is the operator's to fix: say what is wrong and exit, without a stack trace. */
function exitOnConfigError(name: string, err: unknown): never {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`${name}: ${err.message}\n`);
  process.exit(1);
}

/** Reads the config; a ConfigError exits the process with its message (see `exitOnConfigError`). */
export function readOrExit<C>(name: string, read: () => C): C {
  try {
    return read();
  } catch (err) {
    return exitOnConfigError(name, err);
  }
}
