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

/**
 * Runs one service as a child process: its output goes to the sink line by line, and when it dies
 * unexpectedly it is started again after a pause, as Kubernetes would restart its pod.
 */
export class ServiceProcess {
  private child: ChildProcess | undefined;
  private wanted = false;
  private restartTimer: NodeJS.Timeout | undefined;
  /** The last lines it printed, for error messages. */
  readonly recentLines: string[] = [];

  constructor(
    readonly spec: ProcessSpec,
    private readonly sink: LogSink,
    private readonly restartDelayMs = 1000,
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
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on('line', (line) => {
        this.recentLines.push(line);
        if (this.recentLines.length > 40) this.recentLines.shift();
        this.sink(this.spec.name, formatLogLine(line));
      });
    }
    child.once('exit', (code, signal) => {
      if (this.child !== child) return;
      // Exit code 0 is a graceful stop that someone asked for (Ctrl-C reaches every process of
      // the terminal's group, a `kill` by hand): only a crash is restarted.
      if (!this.wanted || code === 0) {
        if (this.wanted) this.sink(this.spec.name, 'exited (code 0); stays stopped');
        this.wanted = false;
        return;
      }
      this.sink(this.spec.name, `exited (${signal ?? `code ${code}`}); restarting in ${this.restartDelayMs} ms`);
      this.restartTimer = setTimeout(() => this.start(), this.restartDelayMs);
    });
  }

  /** Stops it and keeps it stopped: SIGTERM for a graceful stop, SIGKILL to simulate a crash. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 10_000): Promise<void> {
    this.wanted = false;
    clearTimeout(this.restartTimer);
    const child = this.child;
    if (!child || !this.running) return;
    const exited = once(child, 'exit');
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(timer);
  }
}
