import { accessSync, constants, createWriteStream, mkdirSync, writeFileSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import { readCredential } from '@mini-blog/common/auth';
import {
  natsNodeConfig,
  natsNodeName,
  natsPrincipals,
  ROUTE_CREDENTIAL,
  type NatsNodePorts,
} from '@mini-blog/common/transport/jetstream/nats-config';
import { freePort } from './ports';
import { ServiceProcess, waitForReady, type LogSink } from './supervisor';

/**
 * `npm start -- --transport=jetstream`: the events go through NATS JetStream instead of the event
 * bus. The launcher runs Debian's `nats-server` (one node, or a cluster of three on loopback) with
 * its store under the data folder, and supervises each node like a service.
 */

export const NATS_PACKAGE = 'nats-server';

/** Where Debian's package puts the binary, which is not on every user's PATH (/usr/sbin). */
const SYSTEM_DIRS = ['/usr/sbin', '/usr/local/sbin', '/usr/bin', '/usr/local/bin'];

export class NatsServerMissingError extends Error {
  override name = 'NatsServerMissingError';
}

/** The `nats-server` binary: `NATS_SERVER` if set, else the first on PATH or in the system folders. */
export function findNatsServer(
  env: NodeJS.ProcessEnv = process.env,
  systemDirs: readonly string[] = SYSTEM_DIRS,
): string {
  if (env.NATS_SERVER) {
    if (isExecutable(env.NATS_SERVER)) return env.NATS_SERVER;
    throw new NatsServerMissingError(`NATS_SERVER: ${env.NATS_SERVER} is not an executable file`);
  }
  const dirs = [...(env.PATH ?? '').split(path.delimiter).filter((dir) => dir.length > 0), ...systemDirs];
  const found = dirs.map((dir) => path.join(dir, NATS_PACKAGE)).find(isExecutable);
  if (found) return found;
  throw new NatsServerMissingError(
    `${NATS_PACKAGE}: not found on PATH nor in ${systemDirs.join(', ')}; --transport=jetstream needs Debian's package ` +
      `(\`apt-get install -y ${NATS_PACKAGE}\`), or NATS_SERVER=/path/to/nats-server`,
  );
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The ports of a fixed start (`npm start`): the NATS defaults, one up per node. */
export function defaultNatsPorts(nodes: number): NatsNodePorts[] {
  return Array.from({ length: nodes }, (_, index) => ({
    client: 4222 + index,
    cluster: 6222 + index,
    monitor: 8222 + index,
  }));
}

export async function freeNatsPorts(nodes: number): Promise<NatsNodePorts[]> {
  const ports: NatsNodePorts[] = [];
  for (let index = 0; index < nodes; index += 1)
    ports.push({ client: await freePort(), cluster: await freePort(), monitor: await freePort() });
  return ports;
}

export interface NatsOptions {
  /** 1 or 3 (a cluster needs an odd number for its votes; the stream keeps 3 replicas). */
  readonly nodes: number;
  /** The store and the configuration files go to `<dataDir>/nats`. */
  readonly dataDir: string;
  readonly passwords: Readonly<Record<string, string>>;
  /** The credential the nodes' routes authenticate with (a cluster refuses a route without it). */
  readonly routePassword: string;
  readonly log: LogSink;
  /** Free ports (tests) instead of the NATS defaults. */
  readonly freePorts?: boolean;
  readonly binary?: string;
  readonly readyTimeoutMs?: number;
}

export interface RunningNats {
  /** Every node's client URL, comma-separated: what a service's `NATS_URL` holds. */
  readonly url: string;
  readonly nodes: readonly ServiceProcess[];
  /** Each node's own log (nats-server's banner and its notices), `<dataDir>/nats/nats-<i>.log`. */
  readonly logFiles: readonly string[];
  /** Resolves when the node's `/healthz` (JetStream included) answers 200. */
  waitHealthy(index: number, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** The number of nodes `--nats-nodes` may ask for. */
export const NATS_NODE_COUNTS = [1, 3] as const;

/** A line of nats-server's own: `[pid] date time [LEVEL] text`. */
const NATS_LINE = /^\[\d+\] \S+ \S+ \[([A-Z]+)\] /;
/** The levels that stay in the node's log file; warnings and errors are shown as well. */
const QUIET_LEVELS = new Set(['INF', 'DBG', 'TRC']);

/**
 * Where a node's lines go: nats-server's own into its log file (its start alone is some thirty lines
 * of banner per node, and the warnings of a cluster finding its routes and its leader), and on to the
 * terminal only for a warning or an error once the cluster has started; the supervisor's lines about
 * the node (exited, restarting) always to the terminal.
 */
function nodeSink(file: WriteStream, log: LogSink, started: () => boolean): LogSink {
  return (name, line) => {
    const level = NATS_LINE.exec(line)?.[1];
    if (level === undefined) return log(name, line);
    file.write(`${line}\n`);
    if (started() && !QUIET_LEVELS.has(level)) log(name, line);
  };
}

/** Starts every node at once (a cluster elects its leaders only once a majority is up) and waits until each is healthy. */
export async function startNats(options: NatsOptions): Promise<RunningNats> {
  const { nodes: count, dataDir, passwords, routePassword, log, readyTimeoutMs = 30_000 } = options;
  if (!(NATS_NODE_COUNTS as readonly number[]).includes(count))
    throw new Error(`--nats-nodes: must be ${NATS_NODE_COUNTS.join(' or ')}, not ${count}`);
  const binary = options.binary ?? findNatsServer();
  const ports = options.freePorts ? await freeNatsPorts(count) : defaultNatsPorts(count);
  const root = path.join(dataDir, 'nats');
  mkdirSync(root, { recursive: true, mode: 0o700 });

  const logFiles = ports.map((_, index) => path.join(root, `${natsNodeName(index)}.log`));
  const logStreams = logFiles.map((file) => createWriteStream(file, { flags: 'a', mode: 0o600 }));
  let started = false;
  const nodes = ports.map((nodePorts, index) => {
    const name = natsNodeName(index);
    const configFile = path.join(root, `${name}.conf`);
    // The file holds every principal's password and the route credential: readable by this user only.
    writeFileSync(
      configFile,
      natsNodeConfig({ index, ports, storeDir: path.join(root, name), passwords, routePassword }),
      { mode: 0o600 },
    );
    return new ServiceProcess(
      { name, command: [binary, '-c', configFile], port: nodePorts.monitor, env: {} },
      nodeSink(logStreams[index]!, log, () => started),
    );
  });

  const waitHealthy = (index: number, timeoutMs = readyTimeoutMs) => {
    const node = nodes[index];
    if (!node) throw new Error(`nats: no node ${index}`);
    // JetStream included: a node is healthy once it can store (its cluster has a meta leader).
    return waitForReady(node, timeoutMs, '/healthz');
  };
  const stop = async () => {
    await Promise.all(nodes.map((node) => node.stop()));
    await Promise.all(logStreams.map((stream) => new Promise((resolve) => stream.end(resolve))));
  };
  try {
    for (const node of nodes) node.start();
    await Promise.all(nodes.map((_, index) => waitHealthy(index)));
  } catch (err) {
    await stop();
    throw err;
  }
  started = true;
  ports.forEach((nodePorts, index) =>
    log(
      natsNodeName(index),
      `ready: clients at nats://127.0.0.1:${nodePorts.client}` +
        (count > 1 ? `, routes at ${nodePorts.cluster}` : '') +
        `, its store in ${path.join(root, natsNodeName(index))}, its log in ${logFiles[index]}`,
    ),
  );
  return {
    url: ports.map((node) => `nats://127.0.0.1:${node.client}`).join(','),
    nodes,
    logFiles,
    waitHealthy,
    stop,
  };
}

export type TransportChoice =
  { readonly transport: 'http' } | { readonly transport: 'jetstream'; readonly natsNodes: number };

/**
 * `--transport=http|jetstream` (default http) and `--nats-nodes=1|3` (default 1, only with
 * jetstream). Throws naming the flag and the rule.
 */
export function parseTransportArgs(argv: readonly string[]): TransportChoice {
  const value = (flag: string) =>
    argv
      .filter((arg) => arg.startsWith(`${flag}=`))
      .map((arg) => arg.slice(flag.length + 1))
      .at(-1);
  const transport = value('--transport') ?? 'http';
  const nodes = value('--nats-nodes');
  if (transport !== 'http' && transport !== 'jetstream')
    throw new Error(`--transport: must be http or jetstream, not ${transport}`);
  if (transport === 'http') {
    if (nodes !== undefined) throw new Error('--nats-nodes: needs --transport=jetstream');
    return { transport };
  }
  const natsNodes = nodes === undefined ? 1 : Number(nodes);
  if (!(NATS_NODE_COUNTS as readonly number[]).includes(natsNodes))
    throw new Error(`--nats-nodes: must be ${NATS_NODE_COUNTS.join(' or ')}, not ${nodes}`);
  return { transport, natsNodes };
}

/** Each principal's NATS password: the current secret of its credential file. */
export function readNatsPasswords(credentialsDir: string): Record<string, string> {
  return Object.fromEntries(
    natsPrincipals().map((principal) => [principal, readCredential(credentialsDir, principal)[0]!]),
  );
}

/** The cluster's route credential: the current secret of its file. */
export function readRoutePassword(credentialsDir: string): string {
  return readCredential(credentialsDir, ROUTE_CREDENTIAL)[0]!;
}

/** Where the bus would run, the process of its read-only views on JetStream (relative to the repository). */
export const JETSTREAM_VIEWS_SCRIPT = 'common/dist/transport/jetstream/views-server.js';

/** What every event-driven service needs to use the cluster. */
export function jetstreamEnv(nats: RunningNats, credentialsDir: string): Record<string, string> {
  return {
    BUS_TRANSPORT: 'jetstream',
    NATS_URL: nats.url,
    NATS_STREAM_REPLICAS: String(nats.nodes.length),
    CREDENTIALS_DIR: credentialsDir,
  };
}
