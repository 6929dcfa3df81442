import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { connect, nuid, RequestError, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { ensureStream } from './stream';
import { faultAnswerSubject, faultSubject, inboxPrefix } from './subjects';

/** A connection to the cluster, with its JetStream client and manager, the stream known to exist. */
export interface Link {
  readonly connection: NatsConnection;
  readonly client: JetStreamClient;
  readonly manager: JetStreamManager;
}

export interface LinkOptions {
  readonly servers: readonly string[];
  readonly user: string;
  readonly password: string;
  /** Shown in the server's connection list. */
  readonly connectionName: string;
  readonly streamReplicas: number;
  /** Per JetStream API request and publish. */
  readonly timeoutMs: number;
  /** Called each time the connection is back after a loss. */
  readonly onReconnect?: () => void;
  /** Whether to create the streams that are missing (a service does; the read-only views cannot). */
  readonly ensureStreams?: boolean;
}

/**
 * Connects once, then keeps the connection: the client moves to another node when one fails and
 * reconnects for ever. A failed first connect is tried again on the next call, so that a service
 * started before the cluster keeps trying (its startup replay retries with a backoff).
 */
export function createLink(options: LinkOptions): {
  get(): Promise<Link>;
  current(): Link | undefined;
  close(): Promise<void>;
} {
  let pending: Promise<Link> | undefined;
  let established: Link | undefined;
  let closed = false;

  const open = async (): Promise<Link> => {
    const connection = await connect({
      servers: [...options.servers],
      user: options.user,
      pass: options.password,
      // Its replies come under its own prefix, the only inboxes its user may subscribe to.
      inboxPrefix: inboxPrefix(options.user),
      name: options.connectionName,
      timeout: options.timeoutMs,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
    });
    try {
      const manager = await jetstreamManager(connection, { timeout: options.timeoutMs, checkAPI: false });
      if (options.ensureStreams ?? true) await ensureStream(manager, options.streamReplicas);
      const link = { connection, client: jetstream(connection, { timeout: options.timeoutMs }), manager };
      if (closed) throw new Error('nats: closed');
      established = link;
      void watchReconnects(connection, options.onReconnect);
      return link;
    } catch (err) {
      await connection.close();
      throw err;
    }
  };

  return {
    get: () => {
      if (closed) return Promise.reject(new Error('nats: the connection is closed'));
      pending ??= open().catch((err: unknown) => {
        pending = undefined;
        throw err;
      });
      return pending;
    },
    current: () => established,
    close: async () => {
      closed = true;
      const link = established ?? (await pending?.catch(() => undefined));
      await link?.connection.drain().catch(() => link.connection.close());
    },
  };
}

/** A request nobody listens to (a service that is not running, for a request on its fault subject). */
export function isNoResponders(err: unknown): boolean {
  return err instanceof RequestError && err.isNoResponders();
}

/**
 * The operator's request on a service's fault subject (`body` empty to read the switches), answered
 * on the service's fault answer subject: the only subject outside its own a service may answer on.
 */
export function askSwitches(
  connection: NatsConnection,
  service: string,
  body: string,
  timeoutMs: number,
): Promise<Msg> {
  return connection.request(faultSubject(service), body, {
    timeout: timeoutMs,
    noMux: true,
    reply: faultAnswerSubject(service, nuid.next()),
  });
}

async function watchReconnects(connection: NatsConnection, onReconnect: (() => void) | undefined): Promise<void> {
  if (!onReconnect) return;
  for await (const status of connection.status()) if (status.type === 'reconnect') onReconnect();
}
