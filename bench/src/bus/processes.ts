import { fork, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ADMIN } from '@mini-blog/common/auth';
import { PUBLISHER_NAMES, SUBSCRIBER_NAMES } from '@mini-blog/common/registry';
import { freePort, REPO_ROOT, ServiceProcess, waitForReady } from '@mini-blog/launcher';

/** BUS_SCRIPT runs another build of the bus (an earlier commit, for a before/after comparison). */
export const BUS_SCRIPT = process.env.BUS_SCRIPT ?? path.join(REPO_ROOT, 'event-bus/dist/index.js');

/** The principals of a benchmark's bus: the services, admin, and the fan-out's subscribers `s0`, `s1`, ... */
const PRINCIPALS = [
  ...new Set<string>([...PUBLISHER_NAMES, ...SUBSCRIBER_NAMES]),
  ADMIN,
  ...Array.from({ length: 8 }, (_, index) => `s${index}`),
];

/** One credential per principal, as the launcher makes them; the bus reads them from `<workDir>/credentials`. */
export interface BenchCredentials {
  readonly dir: string;
  /** `{authorization: 'Bearer <secret>'}` of a principal. */
  authorization(principal: string): { authorization: string };
}

export function writeCredentials(workDir: string): BenchCredentials {
  const dir = path.join(workDir, 'credentials');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const secrets = new Map(PRINCIPALS.map((principal) => [principal, randomBytes(32).toString('base64url')]));
  for (const [principal, secret] of secrets) writeFileSync(path.join(dir, principal), `${secret}\n`, { mode: 0o600 });
  return { dir, authorization: (principal) => ({ authorization: `Bearer ${secrets.get(principal)!}` }) };
}

/** A bus under benchmark: its API, its read-only views, its process. */
export interface BenchBus {
  readonly url: string;
  readonly viewsUrl: string;
  readonly pid: number | undefined;
  stop(): Promise<void>;
}

/**
 * The bus as `npm start` runs it: the built JS (`script`, by default BUS_SCRIPT) in its own
 * process, its API and views on free 127.0.0.1 ports, reading `credentials`.
 */
export async function startBus(
  dataDir: string,
  credentials: BenchCredentials,
  env: Record<string, string> = {},
  script = BUS_SCRIPT,
): Promise<BenchBus> {
  if (!existsSync(script)) throw new Error(`${script} is missing: run npm run build first`);
  const viewsPort = await freePort();
  const bus = new ServiceProcess(
    {
      name: 'event-bus',
      script,
      port: await freePort(),
      env: {
        DATA_DIR: dataDir,
        SUBSCRIBERS: '',
        LOG_LEVEL: 'warn',
        HOST: '127.0.0.1',
        // As the launcher runs it: every process here connects from 127.0.0.1, so a publisher with
        // hundreds of publishes in flight (the fan-out's) is not cut at 128 connections per address.
        TRUSTED_PROXIES: '127.0.0.1',
        VIEWS_PORT: String(viewsPort),
        CREDENTIALS_DIR: credentials.dir,
        ...env,
      },
    },
    (_name, line) => {
      if (/"level":(50|60)/.test(line)) process.stderr.write(`event-bus | ${line}\n`);
    },
  );
  bus.start();
  await waitForReady(bus, 30_000);
  return { url: bus.url, viewsUrl: `http://127.0.0.1:${viewsPort}`, pid: bus.pid, stop: () => bus.stop() };
}

/** Resident and peak resident memory of a process, from /proc (Linux). */
export function memoryOf(pid: number | undefined): { rss: number; peak: number } {
  const status = pid === undefined ? '' : readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN) * 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

/** Forks one of this folder's helper scripts and waits for its first message. */
export async function forkHelper<T>(script: string, args: string[] = []): Promise<{ child: ChildProcess; first: T }> {
  const child = fork(path.join(__dirname, script), args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const first = await nextMessage<T>(child);
  return { child, first };
}

/** The next IPC message of a forked helper; fails, rather than waiting forever, if it exits first. */
export function nextMessage<T>(child: ChildProcess): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: T) => {
      child.off('exit', onExit);
      resolve(message);
    };
    const onExit = (code: number | null) => {
      child.off('message', onMessage);
      reject(new Error(`helper exited (${code}) before answering`));
    };
    child.once('message', onMessage);
    child.once('exit', onExit);
  });
}

/** Debian's `nats-server` with JetStream, its store in `dir`, on a free 127.0.0.1 port. */
export async function startNats(dir: string): Promise<{ url: string; child: ChildProcess }> {
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const child = spawn('nats-server', ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', dir], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const output: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`nats-server did not start:\n${output.join('')}`)), 15_000);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`nats-server could not be started (apt-get install -y nats-server): ${err.message}`));
    });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      output.push(chunk);
      if (output.join('').includes('Server is ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  return { url: `127.0.0.1:${port}`, child };
}

/** Ends a child process and waits for it. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}
