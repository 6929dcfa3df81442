import { once } from 'node:events';
import type { Server } from 'node:http';
import type { Express } from 'express';
import type { Logger } from 'pino';

export interface RunServiceOptions {
  readonly app: Express;
  readonly port: number;
  readonly logger: Logger;
  /** Runs once the port is open (a catch-up from the log, for example); the process exits if it fails. */
  readonly onListening?: () => Promise<void>;
  /** Runs after the server stops taking requests (flush, close the store). */
  readonly onShutdown?: () => Promise<void> | void;
  /** How long in-flight requests get to finish before their connections are closed. */
  readonly gracePeriodMs?: number;
}

export interface RunningService {
  readonly server: Server;
  readonly port: number;
  stop(): Promise<void>;
}

/**
 * Listens, and stops gracefully on SIGTERM/SIGINT: no new connections, in-flight requests finish
 * (up to the grace period), then the shutdown hook runs and the process exits 0.
 */
export async function runService({ app, port, logger, onListening, onShutdown, gracePeriodMs = 5000 }: RunServiceOptions): Promise<RunningService> {
  const server = app.listen(port);
  await once(server, 'listening');
  const address = server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  logger.info({ port: actualPort }, 'listening');

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      logger.info('shutting down');
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const timer = setTimeout(() => server.closeAllConnections(), gracePeriodMs);
      timer.unref();
      await closed;
      clearTimeout(timer);
      await onShutdown?.();
      logger.info('stopped');
    })();
    return stopping;
  };

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      stop().then(
        () => process.exit(0),
        (err: unknown) => {
          logger.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
    });
  }

  if (onListening) {
    onListening().catch((err: unknown) => {
      logger.fatal({ err }, 'startup failed');
      process.exit(1);
    });
  }
  return { server, port: actualPort, stop };
}
