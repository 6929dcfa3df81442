import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { natsNodeConfig } from '../transport/jetstream/server-config';
import { natsPrincipals } from '../transport/jetstream/subjects';

export interface TestNatsServer {
  readonly url: string;
  /** Each principal's password (its current secret). */
  readonly passwords: Readonly<Record<string, string>>;
  readonly pid: number;
  stop(): Promise<void>;
}

/**
 * One JetStream node with the blog's users on a port the OS picks, its store in a temporary folder:
 * for tests of the JetStream transport. Needs Debian's `nats-server` on PATH (or in /usr/sbin).
 */
export async function startTestNatsServer(): Promise<TestNatsServer> {
  const dir = mkdtempSync(path.join(tmpdir(), 'mini-blog-nats-'));
  const passwords = Object.fromEntries(
    natsPrincipals().map((principal) => [principal, `${principal}-test-secret`.padEnd(43, '0')]),
  );
  const configFile = path.join(dir, 'nats.conf');
  // Port -1: the server picks a free one and says which in its log.
  writeFileSync(
    configFile,
    natsNodeConfig({
      index: 0,
      ports: [{ client: -1, cluster: -1, monitor: -1 }],
      storeDir: path.join(dir, 'store'),
      passwords,
    }),
    { mode: 0o600 },
  );
  const child = spawn('nats-server', ['-c', configFile], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, PATH: `${process.env.PATH}:/usr/sbin` },
  });
  const lines: string[] = [];
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`nats-server did not start:\n${lines.join('\n')}`)), 15_000);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`nats-server could not be started (apt-get install -y nats-server): ${err.message}`));
    });
    let clientUrl: string | undefined;
    createInterface({ input: child.stderr! }).on('line', (line) => {
      lines.push(line);
      clientUrl ??= /Listening for client connections on (\S+)/.exec(line)?.[1];
      if (clientUrl && line.includes('Server is ready')) {
        clearTimeout(timer);
        resolve(`nats://${clientUrl}`);
      }
    });
  });
  return {
    url,
    passwords,
    pid: child.pid!,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = once(child, 'exit');
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
