import type { EventMeta, Logger } from '@mini-blog/common';
import { FanOut, type FanOutOptions } from './fan-out';
import { BusMetrics } from './metrics';
import { GroupCommitter } from './publisher';
import { EventStore } from './store';

export interface EventBusOptions extends FanOutOptions {
  readonly dataDir: string;
}

/** The log, its writer and its fan-out, opened and closed together. */
export class EventBus {
  readonly store: EventStore;
  readonly fanOut: FanOut;
  readonly committer: GroupCommitter;
  readonly metrics = new BusMetrics();
  private closing: Promise<void> | undefined;
  private readonly appendListeners = new Set<(events: readonly EventMeta[]) => void>();

  constructor(options: EventBusOptions, logger: Logger) {
    this.store = new EventStore(options.dataDir);
    this.fanOut = new FanOut(this.store, options, logger, this.metrics);
    this.metrics.watch(
      () => this.store.head,
      () => this.fanOut.statuses(),
    );
    this.committer = new GroupCommitter(this.store, this.metrics, logger, (events) => {
      this.fanOut.notify();
      for (const listener of this.appendListeners) listener(events);
    });
  }

  start(): void {
    this.fanOut.start();
  }

  /** Listens to commits (metadata of the new events only); returns the function that stops listening. */
  onAppended(listener: (events: readonly EventMeta[]) => void): () => void {
    this.appendListeners.add(listener);
    return () => this.appendListeners.delete(listener);
  }

  /** Stops the deliveries, saves the cursors and closes the store; safe to call more than once. */
  close(): Promise<void> {
    this.closing ??= this.fanOut.stop().then(() => this.store.close());
    return this.closing;
  }
}
