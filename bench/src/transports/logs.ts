import type { Server } from 'node:http';
import { once } from 'node:events';
import path from 'node:path';
import type { Envelope } from '@mini-blog/common/events';
import { SUBSCRIBER_NAMES } from '@mini-blog/common/registry';
import { createHttpApp, createLogger } from '@mini-blog/common/service';
import type { EventTransport } from '@mini-blog/common/transport';
import { createHttpTransport } from '@mini-blog/common/transport/http';
import { createJetStreamTransport } from '@mini-blog/common/transport/jetstream';
import {
  ensureCredentials,
  freePort,
  readNatsPasswords,
  readRoutePassword,
  startNats,
  type RunningNats,
} from '@mini-blog/launcher';
import { startBus } from '../bus/processes';

/**
 * The two logs side by side, each behind the same `EventTransport` the services use: the HTTP
 * event bus (one process, SQLite) and a 3-node NATS JetStream cluster on loopback (the stream in
 * three copies). The benchmarks drive both through that interface only.
 */

export type LogKind = 'http' | 'jetstream';
export const LOG_KINDS: readonly LogKind[] = ['http', 'jetstream'];
export const LOG_NAMES: Record<LogKind, string> = { http: 'HTTP bus', jetstream: 'JetStream, 3 nodes, R3' };

/** The principals that the fan-out's consumers play, the registry's subscribers (each needs its own credential). */
export const CONSUMERS = SUBSCRIBER_NAMES;

export interface RunningLog {
  readonly kind: LogKind;
  /** A transport as the principal `name` (publishing needs `posts`, PostCreated its type). */
  transport(name: string): EventTransport;
  stop(): Promise<void>;
}

const silent = createLogger('bench', 'silent');

/** One credential per principal in `<dir>/credentials`, as the launcher makes them; the current secrets by principal. */
export function writeCredentials(base: string): Record<string, string> {
  const dir = path.join(base, 'credentials');
  ensureCredentials(dir);
  return readNatsPasswords(dir);
}

/**
 * Starts one log with the credentials in `<dir>/credentials` (see `writeCredentials`). `pushTo`
 * (HTTP only): the subscribers the bus pushes to, each the URL of a consumer's delivery route,
 * named by principal.
 */
export async function startLog(
  kind: LogKind,
  dir: string,
  secrets: Readonly<Record<string, string>>,
  pushTo: Readonly<Record<string, string>> = {},
): Promise<RunningLog> {
  const credentialsDir = path.join(dir, 'credentials');
  const transports: EventTransport[] = [];
  const track = (transport: EventTransport) => {
    transports.push(transport);
    return transport;
  };
  if (kind === 'http') {
    const subscribers = Object.entries(pushTo)
      .map(([name, url]) => `${name}=${url}|batch`)
      .join(',');
    const bus = await startBus(
      path.join(dir, 'bus'),
      { dir: credentialsDir, authorization: (principal) => ({ authorization: `Bearer ${secrets[principal]}` }) },
      { SUBSCRIBERS: subscribers },
    );
    return {
      kind,
      transport: (name) =>
        track(createHttpTransport({ url: bus.url, token: secrets[name], secrets: [secrets[name]!] })),
      stop: async () => {
        await Promise.all(transports.map((transport) => transport.close()));
        await bus.stop();
      },
    };
  }
  let nats: RunningNats | undefined = await startNats({
    nodes: 3,
    dataDir: dir,
    passwords: secrets,
    routePassword: readRoutePassword(credentialsDir),
    log: () => undefined,
    freePorts: true,
  });
  const servers = nats.url.split(',');
  let replica = 0;
  return {
    kind,
    transport: (name) =>
      track(
        createJetStreamTransport({
          name,
          replica: `bench-${(replica += 1)}`,
          servers,
          password: secrets[name]!,
          streamReplicas: 3,
          logger: silent,
        }),
      ),
    stop: async () => {
      await Promise.all(transports.map((transport) => transport.close()));
      await nats?.stop();
      nats = undefined;
    },
  };
}

/**
 * A consumer that only records how long after being stored each event reached it: as the services'
 * engine, it takes events in order and once, and answers at once.
 */
export class LagRecorder {
  readonly lags: number[] = [];
  currentPosition = 0;
  isReady = true;
  duplicates = 0;
  outOfOrder = 0;

  constructor(readonly name: string) {}

  whenReady(): Promise<void> {
    return Promise.resolve();
  }

  deliver(events: readonly Envelope[]): Promise<void> {
    const now = Date.now();
    for (const event of events) {
      if (event.seq <= this.currentPosition) {
        this.duplicates += 1;
        continue;
      }
      if (event.seq !== this.currentPosition + 1) this.outOfOrder += 1;
      this.currentPosition = event.seq;
      this.lags.push(now - Date.parse(event.time));
    }
    return Promise.resolve();
  }

  /** Never asked for: the benchmarks set no fault switch. */
  syncToHead(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * A consumer's delivery route on its own port, for the HTTP bus to push to before the bus is up:
 * the recorder never reads the log, so its transport needs no bus address. It checks no signature
 * (as on JetStream, where the server's own authorization stands in for it).
 */
export async function deliveryServer(sink: LagRecorder): Promise<{ url: string; server: Server }> {
  const live = createHttpTransport({ url: 'http://127.0.0.1:9', secrets: 'unsigned' }).connect(sink);
  const app = createHttpApp({
    logger: silent,
    routes: (app) => {
      if (live.handler) app.use(live.handler);
    },
  });
  const port = await freePort();
  const server = app.listen(port, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${port}/events`, server };
}
