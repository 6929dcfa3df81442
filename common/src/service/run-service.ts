import { once } from 'node:events';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { Express } from 'express';
import type { Logger } from 'pino';

/**
 * How long a client may take, and how many connections there may be. Node's defaults let a client
 * that sends its body slowly hold a connection for 300 s, and open as many as the file descriptors allow.
 */
export interface ServerLimits {
  /** From a connection's opening to the end of its request headers (a connection that sends nothing is closed too). */
  readonly headersTimeoutMs: number;
  /**
   * For the whole request, body included: beyond it Node answers 408 and closes. It ends when the
   * request has been received, so a long response (a live stream) is never cut by it.
   */
  readonly requestTimeoutMs: number;
  /**
   * How long an idle keep-alive connection stays open after a response. Longer than ingress-nginx
   * keeps its idle upstream connections (60 s): the proxy must close first, or it may send a request
   * on a connection the service is closing at that moment and answer 502.
   */
  readonly keepAliveTimeoutMs: number;
  /** Open connections at once (live streams included); a connection beyond it is closed at once. */
  readonly maxConnections: number;
  /** How often Node looks for requests past their headers or request timeout. */
  readonly timeoutCheckIntervalMs: number;
}

export const DEFAULT_SERVER_LIMITS: ServerLimits = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 65_000,
  maxConnections: 1024,
  timeoutCheckIntervalMs: 1_000,
};

/** An HTTP server for an app, with every timeout and the connection limit set on purpose. */
export function createHttpServer(app: RequestListener, overrides: Partial<ServerLimits> = {}): Server {
  const limits = { ...DEFAULT_SERVER_LIMITS, ...overrides };
  const server = createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      connectionsCheckingInterval: limits.timeoutCheckIntervalMs,
    },
    app,
  );
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  server.maxConnections = limits.maxConnections;
  return server;
}

/** Resolves once the server listens; rejects if it cannot (the port is taken, the address is not this machine's). */
export async function listen(server: Server, port: number, host: string): Promise<number> {
  server.listen(port, host);
  await once(server, 'listening');
  const address = server.address();
  return typeof address === 'object' && address ? address.port : port;
}

export interface RunServiceOptions {
  readonly app: Express;
  readonly port: number;
  /** The address to listen on: `0.0.0.0` in a container, `127.0.0.1` on a laptop (the HOST setting). */
  readonly host: string;
  readonly logger: Logger;
  /** Runs once the port is open (a catch-up from the log, for example); the process exits if it fails. */
  readonly onListening?: () => Promise<void>;
  /** Runs after the server stops taking requests (flush, close the store). */
  readonly onShutdown?: () => Promise<void> | void;
  /** How long in-flight requests get to finish before their connections are closed. */
  readonly gracePeriodMs?: number;
  readonly limits?: Partial<ServerLimits>;
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
export async function runService({
  app,
  port,
  host,
  logger,
  onListening,
  onShutdown,
  gracePeriodMs = 5000,
  limits,
}: RunServiceOptions): Promise<RunningService> {
  const server = createHttpServer(app, limits);
  const actualPort = await listen(server, port, host);
  logger.info({ host, port: actualPort }, 'listening');

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
