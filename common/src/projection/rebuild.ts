import type { Logger } from 'pino';
import { createConsumer, type Consumer } from '../service/consumer';
import type { EventType } from '../events';
import type { SubscriberName } from '../registry';
import type { BusClient } from '../transport/types';
import type { Projection } from './projection';

export interface RebuildStatus {
  /** `idle` before the first rebuild of this process; `running`; `swapped` when the last one is live; `failed`. */
  readonly state: 'idle' | 'running' | 'swapped' | 'failed';
  /** How far the rebuild has read the log. */
  readonly position: number;
  /** The log's newest seq, last seen. */
  readonly head: number;
  /** The live projection's position: it keeps answering until the swap. */
  readonly live: number;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
  /** Events read per second so far (the whole log, from seq 0). */
  readonly eventsPerSecond: number;
  /** Why the last rebuild failed. */
  readonly error: string | null;
}

export interface RebuilderOptions<S extends SubscriberName, M> {
  readonly projection: Projection<S, M>;
  /** The live consumer: its queue holds deliveries back while the rebuild reads the last events and swaps. */
  readonly consumer: Consumer;
  readonly bus: Pick<BusClient, 'readLog'>;
  readonly types: readonly EventType[];
  readonly logger: Logger;
  readonly pageSize?: number;
  /** How often progress is logged. */
  readonly logEveryMs?: number;
}

/** Reactions are decided again by a rebuild, never published by it: the live projection's outbox does that. */
const neverPublish = async (): Promise<never> => {
  throw new Error('a rebuild publishes nothing');
};

/**
 * Rebuilds a service's projection on purpose: a new file beside the live one, filled from the start
 * of the log by a consumer of its own, while the live one keeps applying deliveries and answering.
 * Once the new one is within a page of the live position, the rest is read in the live consumer's
 * queue (no delivery applied meanwhile) and the file is swapped in. One rebuild at a time.
 */
export class Rebuilder<S extends SubscriberName, M> {
  private current: RebuildStatus = {
    state: 'idle',
    position: 0,
    head: 0,
    live: 0,
    startedAt: null,
    finishedAt: null,
    eventsPerSecond: 0,
    error: null,
  };
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly options: RebuilderOptions<S, M>) {}

  get status(): RebuildStatus {
    return { ...this.current, live: this.options.consumer.currentPosition };
  }

  /**
   * Starts a rebuild unless one runs; either way, the status of the one that runs now. `setAside`
   * (a reason: `corrupt`) keeps the live file beside the new one instead of replacing it.
   */
  start({ setAside }: { setAside?: string } = {}): RebuildStatus {
    if (this.stopped) return this.status;
    this.running ??= this.run(setAside).finally(() => {
      this.running = undefined;
    });
    return this.status;
  }

  /** Stops a rebuild in progress (on shutdown): it fails and its file is removed; resolves once it has. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }

  /** Resolves when the rebuild in progress (if any) has swapped or failed. */
  async finished(): Promise<void> {
    await this.running;
  }

  private async run(setAside: string | undefined): Promise<void> {
    const { projection, consumer, bus, types, logger, pageSize = 5000, logEveryMs = 2000 } = this.options;
    const started = Date.now();
    this.current = {
      ...this.current,
      state: 'running',
      position: 0,
      startedAt: new Date(started).toISOString(),
      finishedAt: null,
      eventsPerSecond: 0,
      error: null,
    };
    let target: ReturnType<typeof projection.beginRebuild> | undefined;
    let loggedAt = started;
    try {
      target = projection.beginRebuild();
      logger.info(
        { file: target.file ?? ':memory:', live: consumer.currentPosition },
        'rebuilding the projection from the log',
      );
      const shadow = createConsumer({
        name: `${consumer.name} rebuild`,
        bus: { readLog: (options) => bus.readLog(options), publish: neverPublish, publishBatch: neverPublish },
        types,
        logger,
        state: target,
        pageSize,
        maxPendingReactions: Number.POSITIVE_INFINITY,
        onPage: (position, head) => {
          if (this.stopped) throw new Error('the service is stopping');
          const seconds = Math.max((Date.now() - started) / 1000, 0.001);
          this.current = { ...this.current, position, head, eventsPerSecond: Math.round(position / seconds) };
          if (Date.now() - loggedAt >= logEveryMs) {
            loggedAt = Date.now();
            logger.info({ position, head, eventsPerSecond: this.current.eventsPerSecond }, 'rebuilding the projection');
          }
        },
      });
      do await shadow.syncToHead();
      while (consumer.currentPosition - target.position > pageSize);
      const rebuilt = target;
      await consumer.exclusive(async () => {
        await shadow.syncToHead();
        if (this.stopped) throw new Error('the service is stopping');
        projection.swap(rebuilt, { setAside });
      });
      target = undefined;
      const ms = Date.now() - started;
      this.current = {
        ...this.current,
        state: 'swapped',
        position: projection.position,
        finishedAt: new Date().toISOString(),
        eventsPerSecond: Math.round(projection.position / Math.max(ms / 1000, 0.001)),
      };
      logger.info(
        { position: projection.position, ms, eventsPerSecond: this.current.eventsPerSecond },
        'rebuilt projection swapped in',
      );
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (target) projection.abandon(target);
      this.current = { ...this.current, state: 'failed', finishedAt: new Date().toISOString(), error: message };
      logger.error({ err: message }, 'rebuilding the projection failed; the live one stays');
    }
  }
}
