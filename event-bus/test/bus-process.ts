import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';

const ENTRY = path.join(__dirname, '..', 'dist', 'index.js');

/** The bus as a real process (the built JS), on a free port of 127.0.0.1. */
export class BusProcess {
  private constructor(
    readonly child: ChildProcess,
    readonly url: string,
    readonly output: string[],
  ) {}

  static async start(env: Record<string, string>, timeoutMs = 10_000): Promise<BusProcess> {
    if (!existsSync(ENTRY)) throw new Error(`${ENTRY} is missing: build the bus first (npx tsc -b event-bus; npm test builds it)`);
    const child = spawn(process.execPath, [ENTRY], {
      env: { PATH: process.env.PATH ?? '', PORT: '0', LOG_LEVEL: 'info', SUBSCRIBERS: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output: string[] = [];
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => output.push(chunk));
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`the bus did not report listening within ${timeoutMs} ms; output:\n${output.join('\n')}`));
      }, timeoutMs);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`the bus exited (${code ?? signal}) before listening; output:\n${output.join('\n')}`));
      });
      createInterface({ input: child.stdout! }).on('line', (line) => {
        output.push(line);
        const record = parseJson(line);
        if (record?.msg === 'listening' && typeof record.port === 'number') {
          clearTimeout(timer);
          resolve(record.port);
        }
      });
    });
    return new BusProcess(child, `http://127.0.0.1:${port}`, output);
  }

  /** Sends the signal and waits for the process to end. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 10_000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the bus did not exit within ${timeoutMs} ms of ${signal}`)), timeoutMs);
    });
    try {
      await Promise.race([exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

function parseJson(line: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}
