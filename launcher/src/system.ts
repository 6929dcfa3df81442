import { existsSync, mkdirSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import path from 'node:path';
import { ADMIN, readCredential, serviceAdminVerifier } from '@mini-blog/common/auth';
import {
  SERVICE_NAMES,
  SERVICES,
  subscribersSetting,
  type ServiceName,
  traceSourcesSetting,
} from '@mini-blog/common/registry';
import { createHttpServer, createLogger, listen, ownTracesRouter } from '@mini-blog/common/service';
import { removeLocalRun, writeLocalRun } from '@mini-blog/common/local-run';
import { currentTracing } from '@mini-blog/common/tracing';
import { formatSubscriber, type SubscriberConfig } from '@mini-blog/common/transport/http';
import { createControl } from './control';
import express from 'express';
import { ensureCredentials, PRINCIPALS, type CredentialsReport } from './credentials';
import { createGateway } from './gateway';
import { assertPortsFree, reservePort, type PortReservation } from './ports';
import { formatLogLine } from './log-lines';
import { ingressRouter } from './manifests';
import { matchProjectionsToLog } from './projections';
import {
  JETSTREAM_VIEWS_SCRIPT,
  jetstreamEnv,
  readRoutePassword,
  readNatsPasswords,
  startNats,
  type RunningNats,
  type TransportChoice,
} from './nats';
import { ServiceProcess, waitForReady, type LogSink } from './supervisor';

export { waitForReady } from './supervisor';

export type { ServiceName };

export const REPO_ROOT = path.resolve(__dirname, '../..');

/** Every service listens here: on a laptop nothing but the gateway is meant to be reached, and that only from this machine unless asked. */
const SERVICE_HOST = '127.0.0.1';

export interface DataDir {
  /** One file per principal, given to every service as CREDENTIALS_DIR. */
  readonly credentialsDir: string;
  readonly credentials: CredentialsReport;
}

/**
 * The data folder of a run: the bus's log, each service's projection under `<service>/`, and the
 * credentials under `credentials/`. `fresh` removes them all first: an empty log, no projections,
 * and new secrets for every principal.
 */
export function prepareDataDir(
  dataDir: string,
  {
    fresh = false,
    credentialsDir = path.join(dataDir, 'credentials'),
    principals = PRINCIPALS,
  }: { fresh?: boolean; credentialsDir?: string; principals?: readonly string[] } = {},
): DataDir {
  if (fresh) {
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(credentialsDir, { recursive: true, force: true });
  }
  // A folder the user already has keeps its mode; a new one is the owner's alone, like the credentials.
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  return { credentialsDir, credentials: ensureCredentials(credentialsDir, principals) };
}

export interface SystemOptions {
  /** The gateway's port; 0 picks a free one, and then every service gets a free port too. */
  readonly port?: number;
  /** The gateway's address: 127.0.0.1 unless the user shares it (`HOST=0.0.0.0`). The services always listen on 127.0.0.1. */
  readonly host?: string;
  /** Where the bus keeps its log, and where the credentials are. */
  readonly dataDir: string;
  /** Starts from an empty log with new credentials. */
  readonly fresh?: boolean;
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
  /** The principals' secrets; by default `<dataDir>/credentials`, created when missing. */
  readonly credentialsDir?: string;
  /** Subscribers of the user's own beside the registry's (EXTRA_SUBSCRIBERS): the HTTP bus delivers to them too. */
  readonly extraSubscribers?: readonly SubscriberConfig[];
  /**
   * The operator's fault switches (`npm start -- --faults`): `/launcher/faults/...` on the gateway
   * for the admin credential, and FAULT_SWITCHES=on for the bus and the services. Off by default.
   */
  readonly faultSwitches?: boolean;
}

export interface RunningSystem {
  /** The gateway's URL: what a browser opens. */
  readonly url: string;
  readonly gateway: Server;
  /** The folder of the principals' credential files (an extra subscriber's is `<credentialsDir>/<name>`). */
  readonly credentialsDir: string;
  readonly credentials: CredentialsReport;
  /** The bus's read-only views (`/subscriptions`, `/flow`): what the gateway routes to the bus. */
  readonly viewsUrl: string;
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

/** How this machine reaches a listener on `host`: the loopback address for a wildcard one. */
function loopbackHost(host: string): string {
  if (host === '0.0.0.0') return SERVICE_HOST;
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

/**
 * Starts every service, waits until each is ready, then opens the gateway and writes where each
 * part answers into the data folder (`LOCAL_RUN_FILE`, removed by `stop`).
 */
export async function startSystem(options: SystemOptions): Promise<RunningSystem> {
  /** Free ports (PORT=0), held until their service starts (see `reservePort`); any still held are let go however the start ends. */
  const reserved = new Map<ReservedFor, PortReservation>();
  try {
    return await startHolding(options, reserved);
  } finally {
    await Promise.all([...reserved.values()].map((reservation) => reservation.release()));
  }
}

type ReservedFor = ServiceName | 'event-bus views';

async function startHolding(
  options: SystemOptions,
  reserved: Map<ReservedFor, PortReservation>,
): Promise<RunningSystem> {
  const { dataDir, host = SERVICE_HOST, log = printToStdout, readyTimeoutMs = 30_000 } = options;
  const gatewayPort = options.port ?? 8080;
  const missing = SERVICE_NAMES.filter((name) => !existsSync(path.join(REPO_ROOT, SERVICES[name].script)));
  if (missing.length > 0) {
    throw new Error(
      `not built: ${missing.map((name) => SERVICES[name].script).join(', ')}; run \`npm run build\` first`,
    );
  }

  const pick = async (name: ReservedFor, fixed: number): Promise<number> => {
    if (gatewayPort !== 0) return fixed;
    const reservation = await reservePort(SERVICE_HOST);
    reserved.set(name, reservation);
    return reservation.port;
  };
  const release = async (...names: ReservedFor[]): Promise<void> => {
    for (const name of names) await reserved.get(name)?.release();
  };
  const ports = {} as Record<ServiceName, number>;
  for (const name of SERVICE_NAMES) ports[name] = options.ports?.[name] ?? (await pick(name, SERVICES[name].port));
  const urlOf = (name: ServiceName) => `http://${SERVICE_HOST}:${ports[name]}`;
  // The bus's read-only views listen apart from its API; the gateway reaches only them.
  const viewsPort = await pick('event-bus views', SERVICES['event-bus'].viewsPort);
  if (gatewayPort !== 0)
    await assertPortsFree({ ...ports, 'event-bus views': viewsPort, gateway: gatewayPort }, SERVICE_HOST);
  const choice = options.transport ?? { transport: 'http' };
  const extraSubscribers = options.extraSubscribers ?? [];
  if (choice.transport === 'jetstream' && extraSubscribers.length > 0)
    throw new Error(
      'EXTRA_SUBSCRIBERS: needs the HTTP bus, which pushes to a URL; on JetStream a service subscribes with its own consumer',
    );
  // Only once nothing else runs here: `fresh` removes the data folder.
  const principals = [...PRINCIPALS, ...extraSubscribers.map((subscriber) => subscriber.name)];
  const { credentialsDir, credentials } = prepareDataDir(dataDir, {
    fresh: options.fresh,
    credentialsDir: options.credentialsDir,
    principals,
  });
  matchProjectionsToLog(dataDir, choice.transport, log);

  const nats =
    choice.transport === 'jetstream'
      ? await startNats({
          nodes: choice.natsNodes,
          dataDir,
          passwords: readNatsPasswords(credentialsDir),
          routePassword: readRoutePassword(credentialsDir),
          log,
          freePorts: gatewayPort === 0,
          readyTimeoutMs,
        })
      : undefined;

  // The gateway's own spans, on a listener of their own for the bus's views to gather (never through the gateway).
  const gatewaySpans = currentTracing()?.spans;
  const gatewayTraces = gatewaySpans
    ? createHttpServer(express().disable('x-powered-by').use(ownTracesRouter(gatewaySpans)))
    : undefined;
  const gatewayTracesUrl = gatewayTraces
    ? `http://${SERVICE_HOST}:${await listen(gatewayTraces, 0, SERVICE_HOST)}`
    : undefined;
  const traceSources = traceSourcesSetting(urlOf, gatewayTracesUrl ? { gateway: gatewayTracesUrl } : {});

  const busEnv = (): Record<string, string> =>
    // On JetStream the bus's place is taken by the process of its read-only views.
    nats
      ? jetstreamEnv(nats, credentialsDir)
      : {
          DATA_DIR: dataDir,
          SUBSCRIBERS: [
            subscribersSetting((subscriber) => `${urlOf(subscriber)}/events`),
            ...extraSubscribers.map(formatSubscriber),
          ].join(','),
          VIEWS_PORT: String(viewsPort),
        };
  const envOf = (name: ServiceName): Record<string, string> => {
    const { publishes, handles } = SERVICES[name];
    return {
      HOST: SERVICE_HOST,
      // The gateway's address: the services bound connections and live streams per client by the
      // address it forwards. Every process here connects from 127.0.0.1; only the gateway is reachable.
      TRUSTED_PROXIES: SERVICE_HOST,
      CREDENTIALS_DIR: credentialsDir,
      ...(name === 'event-bus' ? { ...busEnv(), TRACE_SOURCES: traceSources } : {}),
      ...(publishes.length > 0 || handles.length > 0
        ? { BUS_URL: urlOf('event-bus'), ...(nats ? jetstreamEnv(nats, credentialsDir) : {}) }
        : {}),
      // The switches live in the bus, or on JetStream in each service's transport.
      ...(options.faultSwitches && (name === 'event-bus' || publishes.length > 0 || handles.length > 0)
        ? { FAULT_SWITCHES: 'on' }
        : {}),
      // Each service's projection in a folder of its own (`--fresh` removes them with the log), and
      // the digest of the admin's token for it: who may rebuild it, without the admin's secret.
      ...(handles.length > 0
        ? {
            DATA_DIR: path.join(dataDir, name),
            ADMIN_TOKEN_SHA256: serviceAdminVerifier(readCredential(credentialsDir, ADMIN), name),
          }
        : {}),
      ...options.env?.[name],
    };
  };
  const services = {} as Record<ServiceName, ServiceProcess>;
  for (const name of SERVICE_NAMES) {
    const script = nats && name === 'event-bus' ? JETSTREAM_VIEWS_SCRIPT : SERVICES[name].script;
    services[name] = new ServiceProcess(
      { name, script: path.join(REPO_ROOT, script), port: ports[name], env: envOf(name) },
      log,
    );
  }

  // On JetStream the views process listens where the bus would.
  const viewsUrl = nats ? urlOf('event-bus') : `http://${SERVICE_HOST}:${viewsPort}`;
  const serviceUrls = Object.fromEntries(SERVICE_NAMES.map((name) => [name, urlOf(name)])) as Record<
    ServiceName,
    string
  >;
  const targets = { ...serviceUrls, 'event-bus': viewsUrl };
  // The gateway's own log lines (an error it answers 500 for) go where the services' go.
  const logger = createLogger('gateway', 'info', {
    write: (line: string) => log('gateway', formatLogLine(line.trimEnd())),
  });
  const control = createControl({
    services,
    nats,
    busUrl: urlOf('event-bus'),
    credentialsDir,
    principals,
    faultSwitches: options.faultSwitches ?? false,
    logger,
  });
  const gateway = createHttpServer(
    createGateway({ routeFor: ingressRouter(), targets, logger, local: control.router }),
  );
  const stop = async () => {
    // Gone first: blogctl must not be sent to a run that is going away.
    removeLocalRun(dataDir);
    // Nothing is restarted from here on: a Ctrl-C reaches the services too, and they may exit first.
    for (const child of [...Object.values(services), ...(nats?.nodes ?? [])]) child.keepStopped();
    gateway.closeAllConnections();
    gateway.close();
    gatewayTraces?.close();
    // The bus last, so that the others can finish what they were publishing.
    await Promise.all(SERVICE_NAMES.filter((name) => name !== 'event-bus').map((name) => services[name].stop()));
    await services['event-bus'].stop();
    await control.close();
    await nats?.stop();
  };

  let actualPort: number;
  try {
    await release('event-bus', 'event-bus views');
    services['event-bus'].start();
    await waitForReady(services['event-bus'], readyTimeoutMs);
    await release(...SERVICE_NAMES);
    for (const name of SERVICE_NAMES) services[name].start();
    await Promise.all(SERVICE_NAMES.map((name) => waitForReady(services[name], readyTimeoutMs)));
    actualPort = await listen(gateway, gatewayPort, host);
    // Where each part answers, for blogctl: from this machine, whatever address the gateway shares.
    writeLocalRun(dataDir, {
      gateway: `http://${loopbackHost(host)}:${actualPort}`,
      bus: urlOf('event-bus'),
      views: viewsUrl,
      services: serviceUrls,
      pid: process.pid,
    });
  } catch (err) {
    await stop();
    throw err;
  }
  const shownHost =
    host === SERVICE_HOST || host === '0.0.0.0' || host === '::'
      ? 'localhost'
      : host.includes(':')
        ? `[${host}]`
        : host;

  return {
    url: `http://${shownHost}:${actualPort}`,
    gateway,
    credentialsDir,
    credentials,
    viewsUrl,
    services,
    nats,
    waitReady: (name, timeoutMs = readyTimeoutMs) => waitForReady(services[name], timeoutMs),
    stop,
  };
}
