import type { Logger } from 'pino';
import { parseEnvelope, type Envelope, type EventType, type NewEvent } from './events';
import { describeIssues } from './service/validation';
import { backoffDelay } from './transport/backoff';
import { DeliveryRefusedError, NotReadyError } from './transport/errors';
import type { BusClient, DeliverySink, LogPage } from './transport/types';

/** Changes the state for one event; returns the events this one causes (with deterministic ids). */
export type ApplyEvent = (event: Envelope) => readonly NewEvent[] | void;

export interface ConsumerOptions {
  readonly name: string;
  readonly bus: Pick<BusClient, 'readLog' | 'publish' | 'publishBatch'>;
  /** The types it reads from the log and gives to `apply`: include the service's own reactions, so that a replay sees them stored. */
  readonly types: readonly EventType[];
  readonly apply: ApplyEvent;
  readonly logger: Logger;
  readonly pageSize?: number;
  /**
   * Reactions waiting to be published, at most (plus those of one page or one delivery): beyond it
   * deliveries are refused until the outbox drains, and a replay publishes before it reads on.
   */
  readonly maxPendingReactions?: number;
  /** Called once, when the startup replay has caught up. */
  readonly onCaughtUp?: (position: number) => void;
}

/** Events per page of a replay: few round trips, and still a short pause of the event loop per page. */
const DEFAULT_PAGE_SIZE = 5000;

/** The default bound of the outbox: a few seconds of reactions at the rates the benchmarks reach. */
export const MAX_PENDING_REACTIONS = 10_000;

/** Reactions per publish request: far below the bus's batch limit, and its body limit at full-size comments. */
const PUBLISH_BATCH = 200;

/**
 * The consumer engine. It turns a transport's at-least-once, possibly out-of-order delivery into
 * exactly-once, in-order application, whatever the transport (it knows nothing of HTTP):
 * - every event is applied in `seq` order, one at a time (deliveries, catch-up and read-your-writes
 *   syncs share one queue);
 * - an event at or below the position is a duplicate and is ignored;
 * - a gap (the bus delivered past the position) is filled by reading the log first;
 * - a delivery that claims a seq or cursor past the log's head is refused: applying it would move
 *   the position past events still to come, which would then be ignored as duplicates (a frozen
 *   service);
 * - at startup the whole log is replayed, and the service is ready only once caught up;
 * - the events `apply` returns wait in an outbox until published; one that the replay finds
 *   further on in the log is already stored and is not published again. The outbox is bounded:
 *   past `maxPendingReactions`, deliveries wait (NotReadyError) and a replay publishes first.
 */
export class Consumer implements DeliverySink {
  private position = 0;
  /** The newest seq the log is known to hold: a delivery past it is checked against the log first. */
  private knownHead = 0;
  private ready = false;
  private readonly caughtUp: Promise<void>;
  private markCaughtUp: () => void = () => undefined;
  private tail: Promise<unknown> = Promise.resolve();
  private readonly outbox = new Map<string, NewEvent>();
  /** The publish run in progress, if any. */
  private publishing: Promise<void> | undefined;
  private flushAttempt = 0;
  private flushTimer: NodeJS.Timeout | undefined;
  private readonly handled: ReadonlySet<string>;

  constructor(private readonly options: ConsumerOptions) {
    this.handled = new Set(options.types);
    this.caughtUp = new Promise((resolve) => {
      this.markCaughtUp = resolve;
    });
  }

  private get maxPending(): number {
    return this.options.maxPendingReactions ?? MAX_PENDING_REACTIONS;
  }

  get name(): string {
    return this.options.name;
  }

  get isReady(): boolean {
    return this.ready;
  }

  /** The seq of the last event accounted for (applied, or skipped as not handled). */
  get currentPosition(): number {
    return this.position;
  }

  /** Events waiting to be published. */
  get pendingReactions(): number {
    return this.outbox.size;
  }

  /** Replays the log from the start; resolves (and the consumer is ready) once caught up. */
  async start(): Promise<void> {
    const started = Date.now();
    await this.serial(() => this.readToHead());
    this.ready = true;
    this.markCaughtUp();
    this.options.onCaughtUp?.(this.position);
    this.options.logger.info(
      { position: this.position, ms: Date.now() - started, pending: this.outbox.size },
      'caught up with the log',
    );
    this.flush();
  }

  whenReady(): Promise<void> {
    return this.caughtUp;
  }

  /** Applies everything in the log up to its current head: after it, this service has seen every event stored so far. */
  syncToHead(): Promise<void> {
    return this.serial(() => this.readToHead());
  }

  /**
   * Applies delivered events (already validated) in order, filling any gap from the log. `cursor`
   * is the transport's word that nothing this service handles lies between it and the first event;
   * without it, any seq past the next one is a gap, within a batch too. Rejects with NotReadyError
   * during the startup replay and DeliveryRefusedError for a delivery past the log's head; nothing
   * is applied then.
   */
  deliver(events: readonly Envelope[], cursor?: number): Promise<void> {
    if (!this.ready)
      return Promise.reject(new NotReadyError(`${this.options.name}: catching up with the log, deliver again later`));
    return this.serial(async () => {
      const pending = this.outbox.size;
      if (pending >= this.maxPending) {
        this.flush();
        throw new NotReadyError(
          `${this.options.name}: ${pending} reactions wait to be published (the bus may be down); deliver again later`,
        );
      }
      const sorted = [...events].sort((a, b) => a.seq - b.seq);
      if (cursor !== undefined && cursor > this.position) await this.readTo(cursor, 'cursor');
      await this.checkWithinLog(sorted, cursor);
      for (const event of sorted) {
        if (cursor === undefined && event.seq > this.position + 1) await this.readTo(event.seq - 1, 'seq');
        this.applyOne(event);
      }
    });
  }

  /** Stops the publish retries (on shutdown). */
  close(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
  }

  private serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.tail.then(task, task);
    this.tail = run.catch(() => undefined);
    return run;
  }

  /**
   * Events that follow on from the position cannot skip anything. Any others past the head known so
   * far are checked against the log before any is applied: without a cursor by the gap fill they
   * need anyway, with one (which says the seqs between are filtered out) by reading the log's head.
   * Under load the head read is ahead of the deliveries, so few of them need a read of their own.
   */
  private async checkWithinLog(sorted: readonly Envelope[], cursor: number | undefined): Promise<void> {
    const fresh = sorted.filter((event) => event.seq > this.position);
    const newest = fresh.at(-1)?.seq ?? 0;
    if (newest <= this.knownHead || fresh.every((event, index) => event.seq === this.position + 1 + index)) return;
    if (cursor === undefined && this.position < newest - 1) await this.readTo(newest - 1, 'seq');
    if (newest > this.knownHead)
      this.learnHead((await this.options.bus.readLog({ after: newest - 1, limit: 1, types: this.options.types })).head);
    if (newest > this.knownHead)
      throw new DeliveryRefusedError('seq', `${newest} is past the end of the log (${this.knownHead})`);
  }

  private learnHead(head: number): void {
    this.knownHead = Math.max(this.knownHead, head);
  }

  private readToHead(): Promise<void> {
    return this.readTo(undefined);
  }

  /**
   * Applies the log up to `target` (by default the head the first page reports); a target past the
   * head is a delivery's false claim (`claimedBy`) and is refused before anything is applied. The
   * next page is asked for before the current one is applied, so that the bus reads and sends it
   * meanwhile: a replay then takes about the longer of the two sides rather than their sum.
   */
  private async readTo(target: number | undefined, claimedBy?: DeliveryRefusedError['field']): Promise<void> {
    let goal = target;
    let pending = goal === undefined || this.position < goal ? this.fetchPage(this.position) : undefined;
    while (pending) {
      const page = await pending;
      this.learnHead(page.head);
      goal ??= page.head;
      if (goal > page.head)
        throw new DeliveryRefusedError(
          claimedBy ?? 'seq',
          `${claimedBy === 'cursor' ? goal : goal + 1} is past the end of the log (${page.head})`,
        );
      pending = page.next < goal ? this.fetchPage(Math.max(page.next, this.position)) : undefined;
      const before = this.position;
      this.applyPage(page);
      // Publishing now may store a reaction that the replay would find further on: the bus answers that one as a duplicate.
      if (this.outbox.size >= this.maxPending) await this.publishAll();
      if (pending && this.position === before) {
        throw new Error(`${this.options.name}: the log ends at ${page.head}, before ${goal}`);
      }
    }
  }

  private fetchPage(after: number): Promise<LogPage> {
    const page = this.options.bus.readLog({
      after,
      limit: this.options.pageSize ?? DEFAULT_PAGE_SIZE,
      types: this.options.types,
    });
    // Awaited later, or never if applying the page before it throws: that must not be an unhandled rejection.
    page.catch(() => undefined);
    return page;
  }

  private applyPage(page: LogPage): void {
    for (const raw of page.events) {
      const parsed = parseEnvelope(raw);
      if (parsed.success) {
        this.applyOne(parsed.data);
      } else {
        // Stored but unreadable: applying it is impossible and stopping would stall the service forever.
        this.options.logger.error(
          { seq: raw.seq, issues: describeIssues(parsed.error.issues, 'event').message },
          'skipping an invalid event in the log',
        );
        this.position = Math.max(this.position, raw.seq);
      }
    }
    this.position = Math.max(this.position, page.next);
  }

  private applyOne(event: Envelope): void {
    if (event.seq <= this.position) return;
    const reactions = (this.handled.has(event.type) ? this.options.apply(event) : undefined) ?? [];
    const byId = reactions.map((reaction) => {
      if (reaction.id === undefined)
        throw new Error(`${this.options.name}: a reaction to ${event.type} needs a deterministic id`);
      return [reaction.id, reaction] as const;
    });
    // Counted only once applied: if apply throws, the bus's redelivery (or the next replay) applies the event again.
    this.position = event.seq;
    this.learnHead(event.seq);
    this.outbox.delete(event.id);
    for (const [id, reaction] of byId) this.outbox.set(id, reaction);
    if (byId.length > 0 && this.ready) this.flush();
  }

  /** Starts publishing the outbox in the background, retrying with backoff until it is empty. */
  private flush(): void {
    // While a retry is scheduled, new reactions wait for it: one backoff schedule, however many reactions.
    if (this.publishing !== undefined || this.flushTimer !== undefined || this.outbox.size === 0) return;
    this.publishAll().then(
      () => {
        this.flushAttempt = 0;
      },
      (err: unknown) => {
        this.flushAttempt += 1;
        const wait = backoffDelay(this.flushAttempt, 200, 10_000);
        this.options.logger.warn(
          {
            err: err instanceof Error ? err.message : String(err),
            pending: this.outbox.size,
            retryInMs: Math.round(wait),
          },
          'publishing reactions failed',
        );
        this.flushTimer = setTimeout(() => {
          this.flushTimer = undefined;
          this.flush();
        }, wait);
        this.flushTimer.unref();
      },
    );
  }

  /** Publishes the outbox until it is empty; one run at a time, which every caller shares. */
  private publishAll(): Promise<void> {
    this.publishing ??= (async () => {
      try {
        while (this.outbox.size > 0) {
          const batch: [string, NewEvent][] = [];
          for (const entry of this.outbox) {
            batch.push(entry);
            if (batch.length >= PUBLISH_BATCH) break;
          }
          // Reactions that piled up while the last publish was in flight go together: one request
          // and one commit for a burst, where one publish each would queue them behind each other.
          if (batch.length === 1) await this.options.bus.publish(batch[0]![1]);
          else await this.options.bus.publishBatch(batch.map(([, event]) => event));
          for (const [id] of batch) this.outbox.delete(id);
        }
      } finally {
        this.publishing = undefined;
      }
    })();
    return this.publishing;
  }
}

export function createConsumer(options: ConsumerOptions): Consumer {
  return new Consumer(options);
}
