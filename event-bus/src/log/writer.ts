import { once } from 'node:events';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { LogWriter, type WriteReply, type WriteRequest } from './log-writer';

/** Where the log's writes run. One request at a time: the caller waits for each reply. */
export interface Writer {
  write(request: WriteRequest): Promise<WriteReply>;
  close(): Promise<void>;
}

/**
 * Writes in a worker thread: the disk sync of a commit (milliseconds) never blocks the event loop,
 * which meanwhile parses and validates the next publishes. Runs the built `writer-thread.js`.
 */
export class ThreadWriter implements Writer {
  private readonly worker: Worker;
  private pending: ((reply: WriteReply) => void) | undefined;

  constructor(dataDir: string, onCrash: (err: Error) => void) {
    this.worker = new Worker(path.join(__dirname, 'writer-thread.js'), { workerData: { dataDir } });
    this.worker.on('message', (reply: WriteReply) => {
      const resolve = this.pending;
      this.pending = undefined;
      resolve?.(reply);
    });
    this.worker.on('error', (err) => {
      this.pending?.({ ok: false, error: err.message });
      this.pending = undefined;
      onCrash(err);
    });
  }

  write(request: WriteRequest): Promise<WriteReply> {
    if (this.pending) throw new Error('a write is already in flight');
    return new Promise((resolve) => {
      this.pending = resolve;
      this.worker.postMessage(request);
    });
  }

  async close(): Promise<void> {
    const exited = once(this.worker, 'exit');
    this.worker.postMessage('close');
    await exited;
  }
}

/** Writes on the calling thread: for tests, which run the TypeScript source without a build. */
export class InlineWriter implements Writer {
  private readonly writer: LogWriter;

  constructor(dataDir: string) {
    this.writer = new LogWriter(dataDir);
  }

  async write(request: WriteRequest): Promise<WriteReply> {
    return this.writer.write(request);
  }

  async close(): Promise<void> {
    this.writer.close();
  }
}
