import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { formatLogLine } from './log-lines';

export type ProcessSpec = {
  readonly name: string;
  readonly env: Readonly<Record<string, string>>;
  readonly port: number;
} & (
  | {
      /** The compiled entry point, run with this Node.js. */
      readonly script: string;
      readonly command?: never;
    }
  | {
      /** A program other than a Node.js script (`nats-server`), with its arguments. */
      readonly command: readonly [string, ...string[]];
      readonly script?: never;
    }
);

export type LogSink = (service: string, line: string) => void;

/** How long the supervisor waits before starting a process that exited again. */
export interface RestartBackoff {
  /** The first restart's pause; each further one in a row doubles it. */
  readonly baseMs: number;
  readonly maxMs: number;
  /** A process that ran this long before it exited counts as healthy: its next restart waits `baseMs` again. */
  readonly resetAfterMs: number;
}

/** Kubernetes' CrashLoopBackOff, scaled to a laptop: 1 s, 2 s, 4 s ... 30 s, back to 1 s after 30 s up. */
export const DEFAULT_BACKOFF: RestartBackoff = { baseMs: 1000, maxMs: 30_000, resetAfterMs: 30_000 };

/** The log levels below which a service does not print its `listening` line (pino's, as `LOG_LEVEL` names them). */
const QUIET_LEVELS = new Set(['warn', 'error', 'fatal', 'silent']);

/** Whether a line is a service's own word that it listens on `port` (`run-service.ts` logs it once bound). */
function saysListening(line: string, port: number): boolean {
  if (!line.includes('"listening"')) return false;
  try {
    const parsed = JSON.parse(line) as { msg?: unknown; port?: unknown };
    return parsed.msg === 'listening' && parsed.port === port;
  } catch {
    return false;
  }
}

/**
 * - `running`: the process is up (it may not be ready yet);
 * - `restarting`: it exited and is started again after the backoff;
 * - `stopped`: it is down and stays down until someone starts it.
 */
export type ProcessState = 'running' | 'restarting' | 'stopped';

/** What the supervisor knows of one process: public (no env, no arguments, no log lines). */
export interface ProcessStatus {
  readonly name: string;
  readonly state: ProcessState;
  /** Times the supervisor started it again after it exited on its own (a stop or restart asked for does not count). */
  readonly restarts: number;
  /** How it last exited on its own (`code 1`, `SIGKILL`), or null. */
  readonly lastExit: string | null;
  /** When it entered its state (ISO time). */
  readonly since: string;
}

/**
 * Runs one service as a child process, as Kubernetes runs a container with `restartPolicy: Always`:
 * its output goes to the sink line by line, and whenever it exits without being asked to, whatever
 * the exit code, it is started again after a backoff that grows while it keeps exiting. The restarts
 * are counted and each one is logged.
 */
export class ServiceProcess {
  private child: ChildProcess | undefined;
  /** The child that said it listens on the port (see `listening`). */
  private listeningChild: ChildProcess | undefined;
  private wanted = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private startedAt = 0;
  private crashesInARow = 0;
  private restartCount = 0;
  private lastExitReason: string | null = null;
  private stateSince = new Date();
  /** The last lines it printed, for error messages. */
  readonly recentLines: string[] = [];

  constructor(
    readonly spec: ProcessSpec,
    private readonly sink: LogSink,
    private readonly backoff: RestartBackoff = DEFAULT_BACKOFF,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.spec.port}`;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /**
   * Whether the running process itself said that it listens on its port: a Node.js service logs
   * `listening` with the port once bound. Undefined when it cannot say (a program other than a
   * Node.js script, or a `LOG_LEVEL` that leaves the line out). Until then, whatever answers on the
   * port is not this process: another one may hold it (a port picked free and taken before the
   * service bound it, by another system started at the same time).
   */
  get listening(): boolean | undefined {
    if (this.spec.command) return undefined;
    const level = this.spec.env.LOG_LEVEL ?? process.env.LOG_LEVEL;
    if (level !== undefined && QUIET_LEVELS.has(level)) return undefined;
    return this.running && this.listeningChild === this.child;
  }

  /** Times it was started again after exiting on its own. */
  get restarts(): number {
    return this.restartCount;
  }

  get status(): ProcessStatus {
    return {
      name: this.spec.name,
      state: this.running ? 'running' : this.wanted ? 'restarting' : 'stopped',
      restarts: this.restartCount,
      lastExit: this.lastExitReason,
      since: this.stateSince.toISOString(),
    };
  }

  start(): void {
    this.wanted = true;
    clearTimeout(this.restartTimer);
    if (this.running) return;
    const [program, ...args] = this.spec.command ? this.spec.command : [process.execPath, this.spec.script];
    const child = spawn(program, args, {
      env: { ...process.env, ...this.spec.env, PORT: String(this.spec.port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.startedAt = Date.now();
    this.stateSince = new Date();
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on('line', (line) => {
        if (saysListening(line, this.spec.port)) this.listeningChild = child;
        this.recentLines.push(line);
        if (this.recentLines.length > 40) this.recentLines.shift();
        this.sink(this.spec.name, formatLogLine(line));
      });
    }
    child.once('exit', (code, signal) => {
      if (this.child !== child) return;
      this.stateSince = new Date();
      if (!this.wanted) return;
      // Any exit nobody asked for, a clean one included (a `kill` by hand, a service that gave up):
      // the system needs the service, so it comes back, as a pod's container does.
      this.lastExitReason = signal ?? `code ${code}`;
      if (Date.now() - this.startedAt >= this.backoff.resetAfterMs) this.crashesInARow = 0;
      const delay = Math.min(this.backoff.maxMs, this.backoff.baseMs * 2 ** this.crashesInARow);
      this.crashesInARow += 1;
      this.sink(this.spec.name, `exited (${this.lastExitReason}); restart ${this.restartCount + 1} in ${delay} ms`);
      this.restartTimer = setTimeout(() => {
        this.restartCount += 1;
        this.start();
      }, delay);
    });
  }

  /**
   * No restart from now on: the process may exit (Ctrl-C reaches every process of the terminal's
   * group, not only the launcher) and stays down. `stop` then ends it.
   */
  keepStopped(): void {
    this.wanted = false;
    clearTimeout(this.restartTimer);
  }

  /** Stops it and keeps it stopped: SIGTERM for a graceful stop, SIGKILL to simulate a crash. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 10_000): Promise<void> {
    if (this.wanted || this.running) this.stateSince = new Date();
    this.keepStopped();
    const child = this.child;
    if (!child || !this.running) return;
    const exited = once(child, 'exit');
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(timer);
  }

  /** A graceful stop, then a start: what an operator's restart does (not counted among the restarts). */
  async restart(): Promise<void> {
    await this.stop();
    this.crashesInARow = 0;
    this.start();
  }
}

/**
 * Resolves once `probe` (by default the service's `/readyz`) answers 200 and the answer is the
 * service's own: a process that has not said it listens on the port (see `listening`) is not ready,
 * whatever answers there. Otherwise another system's service that holds the port would be taken
 * for this one, and the gateway would send it this system's requests (a comment on a post it never
 * heard of: 404).
 */
export async function waitForReady(service: ServiceProcess, timeoutMs: number, probe = '/readyz'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let answeredByOther = false;
  for (;;) {
    try {
      const res = await fetch(`${service.url}${probe}`, { signal: AbortSignal.timeout(1000) });
      await res.body?.cancel();
      if (res.ok && service.listening !== false) return;
      answeredByOther = res.ok;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      const other = answeredByOther ? ` (another process answers on its port ${service.spec.port})` : '';
      throw new Error(
        `${service.spec.name} was not ready within ${timeoutMs} ms${other}; its last lines:\n${service.recentLines.join('\n')}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
