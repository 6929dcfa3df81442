import type { Express, RequestHandler } from 'express';
import { createConsumer, type Consumer, type ConsumerTuning } from './consumer';
import { serviceAdminOnly, parseAdminVerifier, type ServiceAdminOptions } from '../auth/service-admin';
import { readCredential } from '../auth/credentials';
import { Projection } from '../projection/projection';
import { Rebuilder } from '../projection/rebuild';
import type { ProjectionDefinition } from '../projection/types';
import { replayedTypes, type SubscriberName } from '../registry';
import { AppError } from './errors';
import { ConfigError, type BusConfig } from './config';
import { createHttpApp } from './http-app';
import { createLogger, type Logger } from './logger';
import { ProxyTrust } from './client-address';
import { runService, type RunningService } from './run-service';
import { backoffDelay } from '../transport/backoff';
import { tracedReducer, tracedTransport } from '../tracing/event-spans';
import { currentTracing } from '../tracing/setup';
import { ownTracesRouter } from './trace-routes';
import { createTransport } from '../transport';
import type { EventTransport } from '../transport/transport';

/** `messaging.system` on the event chain's spans: the log, whichever transport carries it. */
const TRACED_SYSTEM = 'mini-blog';

/** A service's projection as its routes see it. */
export interface ServiceProjection<M> {
  /** The model over the live database: read it anew for each request, a rebuild replaces it. */
  readonly model: M;
  /** False while its database refuses writes (a full disk): reads answer 503 meanwhile. */
  readonly writable: boolean;
  /** Every table's rows, sorted (the crash tests compare a projection with one rebuilt from the log). */
  dump(): Record<string, unknown[]>;
}

export interface EventServiceParts<M = unknown> {
  readonly app: Express;
  readonly consumer: Consumer;
  readonly projection: ServiceProjection<M>;
  /** Rebuilds the projection beside the live one and swaps it in (`POST /admin/rebuild`). */
  readonly rebuilder: Pick<Rebuilder<SubscriberName, unknown>, 'status' | 'start' | 'finished'>;
  /** Stops the consumer and closes the projection's database (on shutdown, after the transport). */
  close(): Promise<void>;
}

/** What `startEventService` hands a service's `createApp`. */
export interface EventServiceDeps {
  /** The log: publishing and reading, and live delivery into this service's consumer. */
  readonly bus: EventTransport;
  readonly logger: Logger;
  /** Browser origins allowed to call the public routes (`CORS_ORIGINS`); none when left out. */
  readonly corsOrigins?: readonly string[];
  /**
   * The folder of the service's projection file (`DATA_DIR`); left out, an in-memory database,
   * built from the start of the log at every start (the services' unit tests).
   */
  readonly dataDir?: string;
  /** Names this process's file among the replicas of the service that share `dataDir` (`REPLICA_ID`). */
  readonly replica?: string;
  /**
   * Who may call the service's admin routes (`/admin/rebuild`): the admin only, checked against
   * the digests of its token for this service (`ADMIN_TOKEN_SHA256`, see `auth/service-admin.ts`);
   * the service's own secrets are recognised to answer 403 rather than 401. Left out: nobody may.
   */
  readonly admin?: Omit<ServiceAdminOptions, 'service'>;
}

export interface EventServiceOptions<S extends SubscriberName, M> extends EventServiceDeps, ConsumerTuning {
  /** The service, by its registry entry: what it handles comes from there. */
  readonly name: S;
  /**
   * The service's projection: its tables, its model and its reducer, typed over the events the
   * registry says it handles (adding an event type to the catalog asks nothing of a service that
   * does not handle it). The mechanism keeps the file, the transactions, the checkpoint and the outbox.
   */
  readonly projection: ProjectionDefinition<S, M>;
  /** Files up to this size are checked before they open, larger ones in the background (`CHECK_BEFORE_OPEN_BYTES`). */
  readonly checkBeforeOpenBytes?: number;
  /** The service's own routes, beside the transport's delivery routes and the health routes. */
  readonly routes?: (
    app: Express,
    parts: { readonly projection: ServiceProjection<M>; readonly consumer: Consumer },
  ) => void;
}

/** The admin routes of every event-driven service: `POST` starts a rebuild of its projection, `GET` says how it goes. */
export const ADMIN_PATHS = ['/admin/rebuild'] as const;

/** Reads answer 503 while the projection cannot be written: it may be behind the log, and would not say so. */
function refuseReadsWhileUnwritable(projection: {
  readonly writable: boolean;
  readonly failureReason: string | undefined;
}): RequestHandler {
  return (req, _res, next) => {
    if ((req.method === 'GET' || req.method === 'HEAD') && !projection.writable)
      throw new AppError(503, `${projection.failureReason ?? 'the projection cannot be written'}; try again later`);
    next();
  };
}

/**
 * The app of an event-driven service: its projection (opened, checked, migrated), its consumer
 * reading on from the projection's checkpoint and fed by the transport's live delivery (on the HTTP
 * transport, the bus's `POST /events`), its routes, ready once caught up and while it can write.
 */
export function createEventService<S extends SubscriberName, M>({
  name,
  routes,
  bus,
  logger,
  corsOrigins,
  dataDir,
  replica,
  admin = { verifiers: [] },
  projection: definition,
  checkBeforeOpenBytes,
  ...tuning
}: EventServiceOptions<S, M>): EventServiceParts<M> {
  const spans = currentTracing()?.spans;
  const projection = new Projection({
    service: name,
    definition: spans ? { ...definition, apply: tracedReducer(definition.apply, TRACED_SYSTEM) } : definition,
    dataDir,
    replica,
    logger,
    checkBeforeOpenBytes,
  });
  const types = replayedTypes(name);
  const consumer = createConsumer({ ...tuning, name, bus, logger, types, state: projection });
  const rebuilder = new Rebuilder({ projection, consumer, bus, types, logger, pageSize: tuning.pageSize });
  // A large file is checked after it opens: found corrupt, it is rebuilt beside and kept aside.
  projection.onCorrupt = () => void rebuilder.start({ setAside: 'corrupt' });
  const live = bus.connect(consumer);
  const adminOnly = serviceAdminOnly({ service: name, ...admin });
  const app = createHttpApp({
    logger,
    isReady: () => consumer.isReady && bus.isReady() && projection.writable,
    corsOrigins,
    internalPaths: [...(live.paths ?? []), ...ADMIN_PATHS, ...(spans ? ['/traces'] : [])],
    routes: (app) => {
      if (live.handler) app.use(live.handler);
      if (spans) app.use(ownTracesRouter(spans));
      // 202 with the status of the rebuild that runs now (a second call while one runs starts no other).
      app.post(ADMIN_PATHS[0], adminOnly, (_req, res) => void res.status(202).json(rebuilder.start()));
      app.get(ADMIN_PATHS[0], adminOnly, (_req, res) => void res.json(rebuilder.status));
      app.use(refuseReadsWhileUnwritable(projection));
      routes?.(app, { projection, consumer });
    },
  });
  const close = async () => {
    consumer.close();
    await rebuilder.stop();
    // Whatever the queue is applying finishes first: the database closes between two commits.
    await consumer.exclusive(async () => projection.close());
  };
  return { app, consumer, projection, rebuilder, close };
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
  const transport = await createTransport({ name, config, logger }).catch((err: unknown) =>
    exitOnConfigError(name, err),
  );
  const bus = currentTracing()?.spans ? tracedTransport(transport, TRACED_SYSTEM) : transport;
  const { app, consumer, close } = create({
    bus,
    logger,
    corsOrigins: config.CORS_ORIGINS,
    dataDir: config.DATA_DIR,
    replica: config.REPLICA_ID,
    admin: {
      verifiers: parseAdminVerifier(config.ADMIN_TOKEN_SHA256 ?? ''),
      // createTransport has read it already: a missing credential stopped the service there.
      ownSecrets: config.CREDENTIALS_DIR === undefined ? [] : readCredential(config.CREDENTIALS_DIR, name),
    },
  });
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
    proxies: new ProxyTrust(config.TRUSTED_PROXIES),
    logger,
    onListening: catchUp,
    onShutdown: async () => {
      stopped = true;
      consumer.close();
      await bus.close();
      await close();
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
