import type { SubscriptionStatus } from '@mini-blog/common/events';
import type { Logger } from '@mini-blog/common/service';
import { Agent } from 'undici';
import { UnknownSubscriberError } from '../errors';
import type { GroupCommitter } from '../log/group-commit';
import type { BusMetrics } from '../metrics';
import type { CursorRecord, EventStore } from '../log/store';
import { SubscriberLoop, type DeliveryOptions, type Subscriber } from './subscriber-loop';

export interface FanOutOptions extends DeliveryOptions {
  readonly subscribers: readonly Subscriber[];
  /** How often moved cursors are written to the store. */
  readonly cursorFlushMs?: number;
}

/**
 * Runs one delivery loop per subscriber and keeps their cursors durable. Cursors are written in
 * one transaction every `cursorFlushMs` rather than on every acknowledgement: a crash then
 * re-delivers at most that much, which at-least-once delivery and idempotent consumers absorb,
 * while a disk sync per delivery would cap fan-out at the disk's sync rate.
 */
export class FanOut {
  private readonly loops: SubscriberLoop[];
  private readonly dirty = new Set<SubscriberLoop>();
  private readonly dispatcher = new Agent({ keepAliveTimeout: 4_000 });
  private readonly progressListeners = new Set<(subscriber: string, cursor: number) => void>();
  private flushTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: EventStore,
    private readonly committer: GroupCommitter,
    private readonly options: FanOutOptions,
    private readonly logger: Logger,
    metrics: BusMetrics,
  ) {
    const saved = store.loadCursors();
    // A new subscriber starts at the beginning of the log: it misses nothing stored before it joined.
    const fresh: CursorRecord = { cursor: 0, acked: 0 };
    this.loops = options.subscribers.map(
      (config) =>
        new SubscriberLoop(
          config,
          store,
          committer,
          this.dispatcher,
          options,
          logger,
          metrics,
          saved.get(config.name) ?? fresh,
          (loop) => {
            this.dirty.add(loop);
            for (const listener of this.progressListeners) listener(loop.name, loop.position.cursor);
          },
        ),
    );
  }

  start(): void {
    for (const loop of this.loops) loop.start();
    this.flushTimer = setInterval(() => void this.flushCursors(), this.options.cursorFlushMs ?? 200);
    this.flushTimer.unref();
  }

  /** Wakes the loops after a commit. */
  notify(): void {
    for (const loop of this.loops) loop.notify();
  }

  /** Listens to cursor moves; returns the function that stops listening. */
  onProgress(listener: (subscriber: string, cursor: number) => void): () => void {
    this.progressListeners.add(listener);
    return () => this.progressListeners.delete(listener);
  }

  statuses(): SubscriptionStatus[] {
    const head = this.store.head;
    return this.loops.map((loop) => loop.status(head));
  }

  subscribers(): readonly SubscriberLoop[] {
    return this.loops;
  }

  subscriber(name: string): SubscriberLoop {
    const loop = this.loops.find((candidate) => candidate.name === name);
    if (!loop) throw new UnknownSubscriberError(name);
    return loop;
  }

  /** Writes every cursor that moved since the last flush, with the next commit. */
  async flushCursors(): Promise<void> {
    if (this.dirty.size === 0) return;
    const moved = [...this.dirty];
    this.dirty.clear();
    try {
      await this.committer.saveCursors(new Map(moved.map((loop) => [loop.name, loop.position])));
    } catch (err) {
      // Kept for the next flush: until then a restart only re-delivers a little more.
      for (const loop of moved) this.dirty.add(loop);
      this.logger.error({ err }, 'saving the cursors failed');
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.flushTimer);
    await Promise.all(this.loops.map((loop) => loop.stop()));
    await this.flushCursors();
    await this.dispatcher.close();
  }
}
