import { existsSync, mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import { once } from 'node:events';
import path from 'node:path';
import { createGateway } from './gateway';
import { freePort } from './ports';
import { ingressRouter, localSubscribers } from './manifests';
import { JETSTREAM_VIEWS_SCRIPT, jetstreamEnv, readNatsPasswords, startNats, type RunningNats, type TransportChoice } from './nats';
import { ServiceProcess, type LogSink } from './supervisor';

export const REPO_ROOT = path.resolve(__dirname, '../..');

/** Every process of the system, in start order: the bus first, since every other one reads its log. */
export const SERVICE_NAMES = ['event-bus', 'posts', 'comments', 'moderation', 'query', 'client'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

/** The ports of DESIGN.md, used when the gateway runs on a fixed port. */
export const DEFAULT_PORTS: Readonly<Record<ServiceName, number>> = {
  client: 3000,
  posts: 4000,
  comments: 4001,
  query: 4002,
  moderation: 4003,
  'event-bus': 4005,
};

const SCRIPTS: Readonly<Record<ServiceName, string>> = {
  'event-bus': 'event-bus/dist/index.js',
  posts: 'posts/dist/index.js',
  comments: 'comments/dist/index.js',
  moderation: 'moderation/dist/index.js',
  query: 'query/dist/index.js',
  client: 'client/dist-server/index.js',
};

export interface SystemOptions {
  /** The gateway's port; 0 picks a free one, and then every service gets a free port too. */
  readonly port?: number;
  /** Where the bus keeps its log. */
  readonly dataDir: string;
  /** Where each line of every service's log goes; by default stdout, prefixed with the service name. */
  readonly log?: LogSink;
  /** Extra env per service (for tests: other blocked words, a subscriber list). */
  readonly env?: Partial<Record<ServiceName, Record<string, string>>>;
  /** Ports chosen by the caller, for a test that needs a service's URL before the start (in a subscriber list). */
  readonly ports?: Partial<Record<ServiceName, number>>;
  /** How long to wait for every service to be ready. */
  readonly readyTimeoutMs?: number;
  /** The events through NATS JetStream (`nats-server` started here) instead of the event bus. */
  readonly transport?: TransportChoice;
  /** The principals' secrets; by default `<dataDir>/credentials`. */
  readonly credentialsDir?: string;
}

export interface RunningSystem {
  /** The gateway's URL: what a browser opens. */
  readonly url: string;
  readonly services: Readonly<Record<ServiceName, ServiceProcess>>;
  /** The NATS nodes, with `--transport=jetstream`. */
  readonly nats?: RunningNats;
  /** Resolves when the service answers 200 on /readyz; rejects with its last log lines on timeout. */
  waitReady(name: ServiceName, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

const printToStdout: LogSink = (service, line) => {
  process.stdout.write(`${service.padEnd(10)} | ${line}\n`);
};

/** Resolves once `probe` (by default the service's `/readyz`) answers 200. */
export async function waitForReady(service: ServiceProcess, timeoutMs: number, probe = '/readyz'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(`${service.url}${probe}`, { signal: AbortSignal.timeout(1000) });
      if (res.ok) return;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      throw new Error(`${service.spec.name} was not ready within ${timeoutMs} ms; its last lines:\n${service.recentLines.join('\n')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Starts every service, waits until each is ready, then opens the gateway. */
export async function startSystem(options: SystemOptions): Promise<RunningSystem> {
  const { dataDir, log = printToStdout, readyTimeoutMs = 30_000 } = options;
  const gatewayPort = options.port ?? 8080;
  const missing = SERVICE_NAMES.filter((name) => !existsSync(path.join(REPO_ROOT, SCRIPTS[name])));
  if (missing.length > 0) {
    throw new Error(`not built: ${missing.map((name) => SCRIPTS[name]).join(', ')}; run \`npm run build\` first`);
  }
  mkdirSync(dataDir, { recursive: true });

  const ports = {} as Record<ServiceName, number>;
  for (const name of SERVICE_NAMES) ports[name] = options.ports?.[name] ?? (gatewayPort === 0 ? await freePort() : DEFAULT_PORTS[name]);
  const urlOf = (name: ServiceName) => `http://127.0.0.1:${ports[name]}`;

  const choice = options.transport ?? { transport: 'http' };
  const credentialsDir = options.credentialsDir ?? path.join(dataDir, 'credentials');
  const nats =
    choice.transport === 'jetstream'
      ? await startNats({ nodes: choice.natsNodes, dataDir, passwords: readNatsPasswords(credentialsDir), log, freePorts: gatewayPort === 0, readyTimeoutMs })
      : undefined;
  const busEnv = nats ? { BUS_URL: urlOf('event-bus'), ...jetstreamEnv(nats, credentialsDir) } : { BUS_URL: urlOf('event-bus') };

  const baseEnv: Record<ServiceName, Record<string, string>> = {
    // On JetStream the bus's place is taken by the process of its read-only views.
    'event-bus': nats
      ? jetstreamEnv(nats, credentialsDir)
      : {
          DATA_DIR: dataDir,
          SUBSCRIBERS: localSubscribers((name) => urlOf(name as ServiceName)),
        },
    posts: busEnv,
    comments: busEnv,
    moderation: busEnv,
    query: busEnv,
    client: {},
  };
  const services = {} as Record<ServiceName, ServiceProcess>;
  for (const name of SERVICE_NAMES) {
    services[name] = new ServiceProcess(
      {
        name,
        script: path.join(REPO_ROOT, nats && name === 'event-bus' ? JETSTREAM_VIEWS_SCRIPT : SCRIPTS[name]),
        port: ports[name],
        env: { ...baseEnv[name], ...options.env?.[name] },
      },
      log,
    );
  }

  let gateway: Server | undefined;
  const stop = async () => {
    gateway?.closeAllConnections();
    gateway?.close();
    // The bus last, so that the others can finish what they were publishing.
    await Promise.all(SERVICE_NAMES.filter((name) => name !== 'event-bus').map((name) => services[name].stop()));
    await services['event-bus'].stop();
    await nats?.stop();
  };

  try {
    services['event-bus'].start();
    await waitForReady(services['event-bus'], readyTimeoutMs);
    for (const name of SERVICE_NAMES) services[name].start();
    await Promise.all(SERVICE_NAMES.map((name) => waitForReady(services[name], readyTimeoutMs)));

    const targets = Object.fromEntries(SERVICE_NAMES.map((name) => [name, urlOf(name)]));
    const app = createGateway({ routeFor: ingressRouter(), targets });
    // A gateway on a free port is a test's: it stays on loopback.
    gateway = gatewayPort === 0 ? app.listen(0, '127.0.0.1') : app.listen(gatewayPort);
    await once(gateway, 'listening');
  } catch (err) {
    await stop();
    throw err;
  }
  const address = gateway.address();
  const url = `http://localhost:${typeof address === 'object' && address ? address.port : gatewayPort}`;

  return {
    url,
    services,
    nats,
    waitReady: (name, timeoutMs = readyTimeoutMs) => waitForReady(services[name], timeoutMs),
    stop,
  };
}
