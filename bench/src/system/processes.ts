import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ADMIN } from '@mini-blog/common/auth';
import { EVENT_TYPES } from '@mini-blog/common/events';
import { PUBLISHER_NAMES, SERVICES, SUBSCRIBER_NAMES, type ServiceName } from '@mini-blog/common/registry';
import { freePort, REPO_ROOT, ServiceProcess, waitForReady } from '@mini-blog/launcher';

/** `loader` fills a log with every type of event at once, as a benchmark's setup (not a service). */
const PRINCIPALS = [...new Set<string>([...PUBLISHER_NAMES, ...SUBSCRIBER_NAMES]), ADMIN, 'loader'];

/** The credentials of the benchmarks' processes, one file per principal in a folder of their own, made once per run. */
const credentials = (() => {
  let made: { dir: string; secrets: Map<string, string> } | undefined;
  return () => {
    if (made) return made;
    const dir = path.join(mkdtempSync(path.join(tmpdir(), 'mini-blog-bench-')), 'credentials');
    mkdirSync(dir, { mode: 0o700 });
    const secrets = new Map(PRINCIPALS.map((principal) => [principal, randomBytes(32).toString('base64url')]));
    for (const [principal, secret] of secrets) writeFileSync(path.join(dir, principal), `${secret}\n`, { mode: 0o600 });
    made = { dir, secrets };
    return made;
  };
})();

/** `{authorization: 'Bearer <secret>'}` of one of the benchmarks' principals. */
export function authorization(principal: string): Record<string, string> {
  return { authorization: `Bearer ${credentials().secrets.get(principal)!}` };
}

/** Each service may publish what it publishes; `loader` every type. */
const PUBLISH_ACL = [
  ...PUBLISHER_NAMES.map((name) => `${name}=${SERVICES[name].publishes.join('+')}`),
  `loader=${EVENT_TYPES.join('+')}`,
].join(',');

/** Every process of the registry but the client's static server. */
export type BackendName = Exclude<ServiceName, 'client'>;

/** Resident and peak resident memory of a process, from /proc (Linux). */
export interface Memory {
  readonly rss: number;
  readonly peak: number;
}

export function memoryOf(pid: number | undefined): Memory {
  if (pid === undefined) return { rss: Number.NaN, peak: Number.NaN };
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN) * 1024;
    return { rss: kb('VmRSS'), peak: kb('VmHWM') };
  } catch {
    return { rss: Number.NaN, peak: Number.NaN };
  }
}

/** CPU time (user and system) a process has used so far, in milliseconds, from /proc (Linux). */
export function cpuMsOf(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    // Fields 14 and 15 (utime, stime) in clock ticks, counted after the command name in parentheses.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
}

/** USER_HZ: 100 on Linux everywhere Node.js runs. */
const TICKS_PER_SECOND = 100;

/**
 * One backend service as a child process on a free 127.0.0.1 port, as the launcher runs it, with
 * its log kept and the moment it reported "caught up with the log" noted.
 */
export class Backend {
  readonly process: ServiceProcess;
  readonly lines: string[] = [];
  private caughtUpAt: number | undefined;
  private caughtUpListeners: (() => void)[] = [];

  private constructor(
    readonly name: BackendName,
    readonly port: number,
    env: Record<string, string>,
    nodeArgs: readonly string[],
  ) {
    const own: Record<string, string> = name === 'event-bus' ? { PUBLISH_ACL, VIEWS_PORT: '0' } : {};
    const script = path.join(REPO_ROOT, name, 'dist/index.js');
    const base = { LOG_LEVEL: 'info', HOST: '127.0.0.1', CREDENTIALS_DIR: credentials().dir, ...own };
    this.process = new ServiceProcess(
      nodeArgs.length > 0
        ? { name, port, env: { ...base, ...env }, command: [process.execPath, ...nodeArgs, script] }
        : { name, port, env: { ...base, ...env }, script },
      (_service, line) => {
        this.lines.push(line);
        if (this.lines.length > 200) this.lines.shift();
        if (line.includes('caught up with the log')) {
          this.caughtUpAt = performance.now();
          for (const listener of this.caughtUpListeners.splice(0)) listener();
        }
      },
    );
  }

  /** `nodeArgs` go to node before the script (`--cpu-prof`, which NODE_OPTIONS does not take). */
  static async create(
    name: BackendName,
    env: Record<string, string>,
    port?: number,
    nodeArgs: readonly string[] = [],
  ): Promise<Backend> {
    return new Backend(name, port ?? (await freePort()), env, nodeArgs);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get memory(): Memory {
    return memoryOf(this.process.pid);
  }

  get cpuMs(): number {
    return cpuMsOf(this.process.pid);
  }

  /** Starts it; resolves with the milliseconds from spawn until it was caught up and answered ready. */
  async start(timeoutMs = 120_000): Promise<number> {
    this.caughtUpAt = undefined;
    const started = performance.now();
    this.process.start();
    if (this.name === 'event-bus') {
      await waitForReady(this.process, timeoutMs);
      return performance.now() - started;
    }
    await Promise.race([
      new Promise<void>((resolve) => this.caughtUpListeners.push(resolve)),
      new Promise((_resolve, reject) =>
        setTimeout(
          () =>
            reject(
              new Error(`${this.name} did not catch up within ${timeoutMs} ms:\n${this.lines.slice(-20).join('\n')}`),
            ),
          timeoutMs,
        ).unref(),
      ),
    ]);
    await waitForReady(this.process, 5_000);
    return this.caughtUpAt! - started;
  }

  /** The "caught up" line's own measure: from the start of the replay, without the process start. */
  get replayMs(): number | undefined {
    const line = [...this.lines].reverse().find((candidate) => candidate.includes('caught up with the log'));
    const match = line && / ms=(\d+)/.exec(line);
    return match ? Number(match[1]) : undefined;
  }

  stop(): Promise<void> {
    return this.process.stop();
  }

  /** A crash: SIGKILL, no graceful stop. */
  kill(): Promise<void> {
    return this.process.stop('SIGKILL');
  }
}

/** The bus's SUBSCRIBERS value for services on these 127.0.0.1 ports, with per-subscriber options. */
export function subscribersFor(services: readonly { name: BackendName; port: number; options?: string }[]): string {
  return services
    .map(({ name, port, options }) => `${name}=http://127.0.0.1:${port}/events${options ? `|${options}` : ''}`)
    .join(',');
}

/** The next IPC message of a forked helper; fails, rather than waiting forever, if it exits first. */
export function nextMessage<T>(child: ChildProcess): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: T) => {
      child.off('exit', onExit);
      resolve(message);
    };
    const onExit = (code: number | null, signal: string | null) => {
      child.off('message', onMessage);
      reject(new Error(`${child.spawnargs.slice(1).join(' ')} exited (${signal ?? `code ${code}`}) before answering`));
    };
    child.once('message', onMessage);
    child.once('exit', onExit);
  });
}
