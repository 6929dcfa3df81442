import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { parseSubscribers } from '../src/config';
import { PRINCIPALS, secretOf, tempDir, writeCredentials } from './helpers';

const ENTRY = path.join(__dirname, '..', 'dist', 'index.js');

/**
 * The bus as a real process (the built JS), its API and its views each on a free port of
 * 127.0.0.1, with the test credentials (`secretOf`) of the registry's principals and of its
 * subscribers in a temporary folder, removed when it stops.
 */
export class BusProcess {
  private constructor(
    readonly child: ChildProcess,
    /** The API: publish, read, admin. */
    readonly url: string,
    /** The read-only views. */
    readonly viewsUrl: string,
    readonly output: string[],
  ) {}

  static async start(env: Record<string, string>, timeoutMs = 10_000): Promise<BusProcess> {
    if (!existsSync(ENTRY))
      throw new Error(`${ENTRY} is missing: build the bus first (npx tsc -b event-bus; npm test builds it)`);
    const credentials = tempDir();
    const subscribers = parseSubscribers(env.SUBSCRIBERS ?? '').map((subscriber) => subscriber.name);
    writeCredentials(
      credentials.path,
      Object.fromEntries([...PRINCIPALS, ...subscribers].map((name) => [name, [secretOf(name)]])),
    );
    const child = spawn(process.execPath, [ENTRY], {
      env: {
        PATH: process.env.PATH ?? '',
        PORT: '0',
        VIEWS_PORT: '0',
        CREDENTIALS_DIR: credentials.path,
        LOG_LEVEL: 'info',
        SUBSCRIBERS: '',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.once('exit', () => credentials.remove());
    const output: string[] = [];
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => output.push(chunk));
    const ports = await new Promise<{ api: number; views: number }>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`the bus did not report listening within ${timeoutMs} ms; output:\n${output.join('\n')}`));
      }, timeoutMs);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`the bus exited (${code ?? signal}) before listening; output:\n${output.join('\n')}`));
      });
      let views: number | undefined;
      createInterface({ input: child.stdout! }).on('line', (line) => {
        output.push(line);
        const record = parseJson(line);
        if (typeof record?.port !== 'number') return;
        if (record.msg === 'views listening') views = record.port;
        if (record.msg === 'listening' && views !== undefined) {
          clearTimeout(timer);
          resolve({ api: record.port, views });
        }
      });
    });
    return new BusProcess(child, `http://127.0.0.1:${ports.api}`, `http://127.0.0.1:${ports.views}`, output);
  }

  /** The `authorization` header of a principal (its test secret). */
  static authorization(principal: string): { authorization: string } {
    return { authorization: `Bearer ${secretOf(principal)}` };
  }

  /** Sends the signal and waits for the process to end. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 10_000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`the bus did not exit within ${timeoutMs} ms of ${signal}`)),
        timeoutMs,
      );
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
