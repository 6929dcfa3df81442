import type { EventMeta } from '@mini-blog/common/events';
import type { Logger } from '@mini-blog/common/service';
import { FanOut, type FanOutOptions } from './delivery/fan-out';
import { GroupCommitter } from './log/group-commit';
import { BusMetrics } from './metrics';
import { EventStore } from './log/store';
import { InlineWriter, ThreadWriter, type Writer } from './log/writer';

export interface EventBusOptions extends FanOutOptions {
  readonly dataDir: string;
  /** `thread` (the default) commits in a worker thread; `inline` on the event loop, for tests of the TypeScript source. */
  readonly writer?: 'thread' | 'inline';
  /** Called if the writer thread dies: nothing can be stored any more. */
  readonly onWriterCrash?: (err: Error) => void;
}

/** The log, its writer and its fan-out, opened and closed together. */
export class EventBus {
  readonly store: EventStore;
  readonly committer: GroupCommitter;
  readonly fanOut: FanOut;
  readonly metrics = new BusMetrics();
  private readonly writer: Writer;
  private closing: Promise<void> | undefined;
  private readonly appendListeners = new Set<(events: readonly EventMeta[]) => void>();

  constructor(options: EventBusOptions, logger: Logger) {
    this.store = new EventStore(options.dataDir);
    this.writer =
      options.writer === 'inline'
        ? new InlineWriter(options.dataDir)
        : new ThreadWriter(
            options.dataDir,
            options.onWriterCrash ?? ((err) => logger.fatal({ err }, 'the writer thread died')),
          );
    this.committer = new GroupCommitter(this.store, this.writer, this.metrics, logger, (events) => {
      this.fanOut.notify();
      for (const listener of this.appendListeners) listener(events);
    });
    this.fanOut = new FanOut(this.store, this.committer, options, logger, this.metrics);
    this.metrics.watch(
      () => this.store.head,
      () => this.fanOut.statuses(),
    );
  }

  start(): void {
    this.fanOut.start();
  }

  /** Listens to commits (metadata of the new events only); returns the function that stops listening. */
  onAppended(listener: (events: readonly EventMeta[]) => void): () => void {
    this.appendListeners.add(listener);
    return () => this.appendListeners.delete(listener);
  }

  /** Stops the deliveries, saves the cursors, lets the last commit finish and closes the store; safe to call more than once. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.fanOut.stop();
      this.committer.stopProbing();
      await this.committer.idle();
      await this.writer.close();
      this.store.close();
    })();
    return this.closing;
  }
}
