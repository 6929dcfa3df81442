import { AppError, type EventMeta, type Logger } from '@mini-blog/common';
import type { BusMetrics } from './metrics';
import type { AppendResult, EventStore, PendingEvent } from './store';

interface Waiting {
  readonly events: readonly PendingEvent[];
  resolve(results: AppendResult[]): void;
  reject(err: unknown): void;
}

/**
 * Group commit: every publish that arrives within one turn of the event loop waits for the same
 * transaction, committed in `setImmediate` once the turn's I/O callbacks have all run. A disk sync
 * costs about the same for one event as for a thousand, so 50 concurrent publishers pay for one.
 * A caller's promise resolves only after the commit: its 2xx always means "on disk".
 */
export class GroupCommitter {
  private waiting: Waiting[] = [];
  private scheduled = false;

  constructor(
    private readonly store: EventStore,
    private readonly metrics: BusMetrics,
    private readonly logger: Logger,
    /** Called after each commit with the events it added (duplicates left out). */
    private readonly onAppended: (events: readonly EventMeta[]) => void,
  ) {}

  /** Stores the events as one all-or-nothing group; resolves once they are committed. */
  publish(events: readonly PendingEvent[]): Promise<AppendResult[]> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ events, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.commit());
      }
    });
  }

  private commit(): void {
    const batch = this.waiting;
    this.waiting = [];
    this.scheduled = false;
    const time = new Date().toISOString();
    const stopTimer = this.metrics.commitSeconds.startTimer();
    let results: AppendResult[][];
    try {
      results = this.store.append(
        batch.map((item) => item.events),
        time,
      );
    } catch (err) {
      this.logger.error({ err, events: batch.length }, 'the log could not be written');
      // The transaction rolled back: none of these events is stored, so every publisher may retry.
      const failure = new AppError(503, `event-bus: the log could not be written (${err instanceof Error ? err.message : String(err)}); nothing was stored, try again`);
      for (const item of batch) item.reject(failure);
      return;
    } finally {
      stopTimer();
    }
    const appended: EventMeta[] = [];
    batch.forEach((item, index) => {
      const groupResults = results[index]!;
      groupResults.forEach((result, position) => {
        if (!result.duplicate) appended.push({ seq: result.seq, type: item.events[position]!.type, id: result.id, time });
      });
      item.resolve(groupResults);
    });
    const total = batch.reduce((sum, item) => sum + item.events.length, 0);
    this.metrics.commitSize.observe(total);
    this.metrics.appended.inc(appended.length);
    this.metrics.duplicates.inc(total - appended.length);
    if (appended.length > 0) this.onAppended(appended);
  }
}
