import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { natsNodeConfig, type NatsNodePorts } from '../transport/jetstream/server-config';
import { natsPrincipals, ROUTE_CREDENTIAL } from '../transport/jetstream/subjects';
import { waitFor } from './wait-for';

export interface TestNatsServer {
  /** Every node's client URL, comma-separated for a cluster. */
  readonly url: string;
  /** Each principal's password (its current secret), and the route credential's (`nats-route`). */
  readonly passwords: Readonly<Record<string, string>>;
  /** The first node's pid. */
  readonly pid: number;
  /** Each node's ports (a cluster's route port is where a rogue server would route to). */
  readonly ports: readonly NatsNodePorts[];
  /** Each node's log lines so far. */
  readonly logs: readonly string[][];
  stop(): Promise<void>;
}

const PATH = `${process.env.PATH}:/usr/sbin`;

/** A nats-server process whose log is kept; resolves once it says it is ready. */
export async function spawnNatsServer(
  configFile: string,
  lines: string[] = [],
): Promise<{ child: ChildProcess; clientUrl: string }> {
  const child = spawn('nats-server', ['-c', configFile], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, PATH },
  });
  const clientUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`nats-server did not start:\n${lines.join('\n')}`)), 15_000);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`nats-server could not be started (apt-get install -y nats-server): ${err.message}`));
    });
    let url: string | undefined;
    createInterface({ input: child.stderr! }).on('line', (line) => {
      lines.push(line);
      url ??= /Listening for client connections on (\S+)/.exec(line)?.[1];
      if (url && line.includes('Server is ready')) {
        clearTimeout(timer);
        resolve(`nats://${url}`);
      }
    });
  });
  return { child, clientUrl };
}

export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
}

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

/**
 * JetStream with the blog's users, its store in a temporary folder: one node on a port the OS picks,
 * or a cluster of `nodes` on free loopback ports whose routes authenticate, as the launcher runs it.
 * For tests of the JetStream transport. Needs Debian's `nats-server` on PATH (or in /usr/sbin).
 */
export async function startTestNatsServer({ nodes = 1 }: { nodes?: 1 | 3 } = {}): Promise<TestNatsServer> {
  const dir = mkdtempSync(path.join(tmpdir(), 'mini-blog-nats-'));
  const passwords = Object.fromEntries(
    [...natsPrincipals(), ROUTE_CREDENTIAL].map((principal) => [principal, `${principal}-test-secret`.padEnd(43, '0')]),
  );
  const ports: NatsNodePorts[] = [];
  for (let index = 0; index < nodes; index += 1)
    // Port -1 for one node: the server picks a free one and says which in its log.
    ports.push(
      nodes === 1
        ? { client: -1, cluster: -1, monitor: -1 }
        : { client: await freePort(), cluster: await freePort(), monitor: await freePort() },
    );
  const logs = ports.map((): string[] => []);
  const children: ChildProcess[] = [];
  const stop = async () => {
    await Promise.all(children.map(stopProcess));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const started = await Promise.all(
      ports.map((_, index) => {
        const configFile = path.join(dir, `nats-${index}.conf`);
        writeFileSync(
          configFile,
          natsNodeConfig({
            index,
            ports,
            storeDir: path.join(dir, `store-${index}`),
            passwords,
            routePassword: passwords[ROUTE_CREDENTIAL],
          }),
          { mode: 0o600 },
        );
        return spawnNatsServer(configFile, logs[index]).then((node) => {
          children.push(node.child);
          return node;
        });
      }),
    );
    if (nodes > 1) {
      // Ready to store once the cluster has a JetStream meta leader.
      await waitFor(
        async () => {
          const answers = await Promise.all(
            ports.map((node) =>
              fetch(`http://127.0.0.1:${node.monitor}/healthz`)
                .then((res) => res.ok)
                .catch(() => false),
            ),
          );
          return answers.every(Boolean);
        },
        'the NATS cluster to be healthy',
        { timeoutMs: 30_000 },
      );
    }
    return {
      url: started.map((node) => node.clientUrl).join(','),
      passwords,
      pid: started[0]!.child.pid!,
      ports,
      logs,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
