import { once } from 'node:events';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Express } from 'express';
import type { Logger } from 'pino';
import { ProxyTrust } from './client-address';

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
  /**
   * Open connections from one address (a trusted proxy's excepted: `ProxyTrust`); one beyond it is
   * closed at once, so that one client cannot hold every connection and leave others reset.
   */
  readonly maxConnectionsPerAddress: number;
  /**
   * How long an answer may wait, unsent, for its client to read: a client that stops reading (its
   * socket's buffers full, the rest held here) loses its connection after this long without progress.
   */
  readonly responseStallTimeoutMs: number;
  /** How often Node looks for requests past their headers or request timeout. */
  readonly timeoutCheckIntervalMs: number;
}

export const DEFAULT_SERVER_LIMITS: ServerLimits = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 65_000,
  maxConnections: 1024,
  maxConnectionsPerAddress: 128,
  responseStallTimeoutMs: 30_000,
  timeoutCheckIntervalMs: 1_000,
};

/**
 * An HTTP server for an app, with every timeout and connection limit set on purpose. `proxies`
 * names the trusted proxies, whose connections are exempt from the per-address bound.
 */
export function createHttpServer(
  app: RequestListener,
  overrides: Partial<ServerLimits> = {},
  proxies: ProxyTrust = new ProxyTrust(),
): Server {
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
  boundConnectionsPerAddress(server, limits.maxConnectionsPerAddress, proxies);
  cutStalledAnswers(server, limits.responseStallTimeoutMs, limits.timeoutCheckIntervalMs);
  return server;
}

function boundConnectionsPerAddress(server: Server, max: number, proxies: ProxyTrust): void {
  const open = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? 'unknown';
    if (proxies.trusts(address)) return;
    const count = (open.get(address) ?? 0) + 1;
    if (count > max) {
      socket.destroy();
      return;
    }
    open.set(address, count);
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left > 0) open.set(address, left);
      else open.delete(address);
    });
  });
}

/**
 * Closes a connection whose answer has waited unsent for `stallMs` without any of it being read:
 * Node holds what the socket's buffers cannot take (`writableLength`), and a client that never
 * reads would otherwise keep the connection, and that memory, for as long as it likes.
 */
function cutStalledAnswers(server: Server, stallMs: number, checkEveryMs: number): void {
  const watched = new Map<Socket, { unsent: number; since: number }>();
  const every = Math.min(checkEveryMs, stallMs);
  let lastCheck = Date.now();
  const check = setInterval(() => {
    const now = Date.now();
    // A check that comes late (this process did not run: a busy machine, a long pause of the
    // collector) does not count that time against a client: the process wrote nothing meanwhile,
    // and what the client read shows only once it runs again, after this check.
    const late = now - lastCheck - every;
    lastCheck = now;
    for (const [socket, last] of watched) {
      if (late > every) last.since += late;
      const unsent = socket.writableLength;
      if (unsent === 0 || unsent < last.unsent) watched.set(socket, { unsent, since: now });
      else if (now - last.since >= stallMs) socket.destroy();
      else if (unsent > last.unsent) last.unsent = unsent;
    }
  }, every);
  check.unref();
  server.on('connection', (socket: Socket) => {
    watched.set(socket, { unsent: 0, since: Date.now() });
    socket.once('close', () => watched.delete(socket));
  });
  server.once('close', () => clearInterval(check));
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
  /** The proxies in front of it (`TRUSTED_PROXIES`). */
  readonly proxies?: ProxyTrust;
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
  proxies,
}: RunServiceOptions): Promise<RunningService> {
  const server = createHttpServer(app, limits, proxies);
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
