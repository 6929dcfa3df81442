import type { Logger } from 'pino';
import { parseEnvelope, type Envelope, type EventType, type NewEvent } from '../events';
import { describeIssues } from './validation';
import { backoffDelay } from '../transport/backoff';
import { DeliveryRefusedError, IdempotencyConflictError, NotReadyError } from '../transport/errors';
import type { BusClient, DeliverySink, LogPage } from '../transport/types';

/** Changes the state for one event; returns the events this one causes (with deterministic ids). */
export type ApplyEvent = (event: Envelope) => readonly NewEvent[] | void;

/**
 * Where the engine keeps what it has applied: the state, the position it reaches (the checkpoint)
 * and the reactions waiting to be published (the outbox). A projection's database
 * (`projection/projection.ts`) keeps the three in one transaction; `memoryState` keeps them in memory.
 */
export interface ConsumerState {
  /** The seq of the last event the state accounts for (applied, or skipped as not handled). */
  readonly position: number;
  /** Reactions waiting to be published. */
  readonly pendingReactions: number;
  /**
   * Applies `events` (in seq order, each after the position) and moves the position to `next` (at
   * least the last one's seq), all or nothing: an event's reactions join the outbox, and an event
   * that is in the outbox (a reaction of this service, stored) leaves it. Returns the reactions added.
   */
  commit(events: readonly Envelope[], next: number): number;
  /** Up to `limit` reactions waiting, oldest first. */
  pendingBatch(limit: number): readonly NewEvent[];
  /** Reactions the log has acknowledged. */
  published(ids: readonly string[]): void;
}

/** State in memory, for a consumer whose `apply` keeps its own: everything is replayed from the log at each start. */
export function memoryState(name: string, apply: ApplyEvent): ConsumerState {
  let position = 0;
  const outbox = new Map<string, NewEvent>();
  return {
    get position() {
      return position;
    },
    get pendingReactions() {
      return outbox.size;
    },
    commit(events, next) {
      let added = 0;
      for (const event of events) {
        // Counted only once applied: if apply throws, the bus's redelivery (or the next replay) applies the event again.
        const reactions = apply(event) ?? [];
        for (const reaction of reactions)
          if (reaction.id === undefined)
            throw new Error(`${name}: a reaction to ${event.type} needs a deterministic id`);
        position = event.seq;
        outbox.delete(event.id);
        for (const reaction of reactions) {
          if (!outbox.has(reaction.id!)) added += 1;
          outbox.set(reaction.id!, reaction);
        }
      }
      position = Math.max(position, next);
      return added;
    },
    pendingBatch(limit) {
      return [...outbox.values()].slice(0, limit);
    },
    published(ids) {
      for (const id of ids) outbox.delete(id);
    },
  };
}

interface CommonConsumerOptions {
  readonly name: string;
  readonly bus: Pick<BusClient, 'readLog' | 'publish' | 'publishBatch'>;
  /** The types it reads from the log and applies: include the service's own reactions, so that a replay sees them stored. */
  readonly types: readonly EventType[];
  readonly logger: Logger;
  readonly pageSize?: number;
  /**
   * Reactions waiting to be published, at most (plus those of one page or one delivery): beyond it
   * deliveries are refused until the outbox drains, and a replay publishes before it reads on.
   */
  readonly maxPendingReactions?: number;
  /** Called once, when the startup replay has caught up. */
  readonly onCaughtUp?: (position: number) => void;
  /** Called after each page of the log applied (a replay's progress). */
  readonly onPage?: (position: number, head: number) => void;
}

/** The engine's settings a service may change. */
export type ConsumerTuning = Pick<CommonConsumerOptions, 'pageSize' | 'maxPendingReactions' | 'onCaughtUp' | 'onPage'>;

export type ConsumerOptions = CommonConsumerOptions &
  (
    | { readonly apply: ApplyEvent; readonly state?: undefined }
    /** The state the engine applies to and starts from (a projection): its position is where it reads on. */
    | { readonly state: ConsumerState; readonly apply?: undefined }
  );

/** Events per page of a replay: few round trips, and still a short pause of the event loop per page. */
const DEFAULT_PAGE_SIZE = 5000;

/** The default bound of the outbox: a few seconds of reactions at the rates the benchmarks reach. */
export const MAX_PENDING_REACTIONS = 10_000;

/**
 * How far past the head that the log last reported a delivery may reach, when its cursor says that
 * the seqs before its first event are filtered out, before the log's head is read again to check
 * it. The cursor is signed with the body (HTTP) or computed here (JetStream), so the read guards
 * only against a delivery signed with the subscriber's own key that claims a seq the log does not
 * have: such a delivery could move the position past events to come, which would then be dropped
 * as duplicates. Far past the log (the seq 2^53 that once froze a service) it is refused; within
 * this bound it costs at most this many events, and no read is made for the deliveries of a
 * filtered subscription (which skip seqs on nearly every delivery).
 */
export const UNCHECKED_SKIP_AHEAD = 1000;

/** Reactions per publish request: far below the bus's batch limit, and its body limit at full-size comments. */
const PUBLISH_BATCH = 200;

/**
 * The consumer engine. It turns a transport's at-least-once, possibly out-of-order delivery into
 * exactly-once, in-order application, whatever the transport (it knows nothing of HTTP):
 * - every event is applied in `seq` order (deliveries, catch-up, read-your-writes syncs and a
 *   rebuild's swap share one queue), a delivery or a page of the log in one `commit` of the state;
 * - an event at or below the position is a duplicate and is ignored;
 * - a gap (the bus delivered past the position) is filled by reading the log first;
 * - a delivery that claims a seq or cursor past the log's head is refused: applying it would move
 *   the position past events still to come, which would then be ignored as duplicates (a frozen
 *   service);
 * - at startup the log is read from the state's position (a projection's checkpoint; 0 in memory),
 *   and the service is ready only once caught up;
 * - the events `apply` returns wait in the state's outbox until published; one that the replay
 *   finds further on in the log is already stored and is not published again. The outbox is
 *   bounded: past `maxPendingReactions`, deliveries wait (NotReadyError) and a replay publishes first.
 */
export class Consumer implements DeliverySink {
  /** The newest seq the log is known to hold: a delivery past it is checked against the log first. */
  private knownHead = 0;
  /** The newest head a read of the log reported (the events applied since are not counted). */
  private readHead = 0;
  private ready = false;
  private readonly caughtUp: Promise<void>;
  private markCaughtUp: () => void = () => undefined;
  private tail: Promise<unknown> = Promise.resolve();
  private readonly state: ConsumerState;
  /** The publish run in progress, if any. */
  private publishing: Promise<void> | undefined;
  private flushAttempt = 0;
  private flushTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly options: ConsumerOptions) {
    if (options.state) {
      this.state = options.state;
    } else {
      const handled: ReadonlySet<string> = new Set(options.types);
      const { apply } = options;
      this.state = memoryState(options.name, (event) => (handled.has(event.type) ? apply(event) : undefined));
    }
    this.caughtUp = new Promise((resolve) => {
      this.markCaughtUp = resolve;
    });
  }

  private get maxPending(): number {
    return this.options.maxPendingReactions ?? MAX_PENDING_REACTIONS;
  }

  private get position(): number {
    return this.state.position;
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
    return this.state.pendingReactions;
  }

  /** Reads the log from the state's position; resolves (and the consumer is ready) once caught up. */
  async start(): Promise<void> {
    const started = Date.now();
    const from = this.position;
    await this.serial(() => this.readToHead());
    this.ready = true;
    this.markCaughtUp();
    this.options.onCaughtUp?.(this.position);
    this.options.logger.info(
      { from, position: this.position, ms: Date.now() - started, pending: this.state.pendingReactions },
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

  /** Runs `task` in the engine's queue: no event is applied meanwhile (a rebuild's swap). */
  exclusive<T>(task: () => Promise<T>): Promise<T> {
    return this.serial(task);
  }

  /**
   * Applies delivered events (already validated) in order, filling any gap from the log. `cursor`
   * is the transport's word that nothing this service handles lies between it and the first event;
   * without it, any seq past the next one is a gap, within a batch too. Rejects with NotReadyError
   * during the startup replay and DeliveryRefusedError for a delivery past the log's head; nothing
   * is applied then. The events that follow on from each other are applied in one commit.
   */
  deliver(events: readonly Envelope[], cursor?: number): Promise<void> {
    if (!this.ready)
      return Promise.reject(new NotReadyError(`${this.options.name}: catching up with the log, deliver again later`));
    return this.serial(async () => {
      const pending = this.state.pendingReactions;
      if (pending >= this.maxPending) {
        this.flush();
        throw new NotReadyError(
          `${this.options.name}: ${pending} reactions wait to be published (the bus may be down); deliver again later`,
        );
      }
      const sorted = [...events].sort((a, b) => a.seq - b.seq);
      if (cursor !== undefined && cursor > this.position) await this.readTo(cursor, 'cursor');
      await this.checkWithinLog(sorted, cursor);
      let run: Envelope[] = [];
      for (const event of sorted) {
        const reached = run.at(-1)?.seq ?? this.position;
        if (event.seq <= reached) continue;
        if (cursor === undefined && event.seq > reached + 1) {
          this.commit(run, reached);
          run = [];
          await this.readTo(event.seq - 1, 'seq');
          if (event.seq <= this.position) continue;
        }
        run.push(event);
      }
      this.commit(run, run.at(-1)?.seq ?? this.position);
    });
  }

  /** Stops the publish retries (on shutdown). */
  close(): void {
    this.closed = true;
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
   * need anyway, with one (which says the seqs between are filtered out) by reading the log's head
   * once they reach more than `UNCHECKED_SKIP_AHEAD` past the head the log last reported.
   */
  private async checkWithinLog(sorted: readonly Envelope[], cursor: number | undefined): Promise<void> {
    const fresh = sorted.filter((event) => event.seq > this.position);
    const newest = fresh.at(-1)?.seq ?? 0;
    if (newest <= this.knownHead || fresh.every((event, index) => event.seq === this.position + 1 + index)) return;
    if (cursor === undefined && this.position < newest - 1) await this.readTo(newest - 1, 'seq');
    else if (cursor !== undefined && newest <= this.readHead + UNCHECKED_SKIP_AHEAD) return;
    if (newest > this.knownHead)
      this.learnLogHead(
        (await this.options.bus.readLog({ after: newest - 1, limit: 1, types: this.options.types })).head,
      );
    if (newest > this.knownHead)
      throw new DeliveryRefusedError('seq', `${newest} is past the end of the log (${this.knownHead})`);
  }

  private learnHead(head: number): void {
    this.knownHead = Math.max(this.knownHead, head);
  }

  /** A head the log itself reported. */
  private learnLogHead(head: number): void {
    this.readHead = Math.max(this.readHead, head);
    this.learnHead(head);
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
      this.learnLogHead(page.head);
      goal ??= page.head;
      if (goal > page.head)
        throw new DeliveryRefusedError(
          claimedBy ?? 'seq',
          `${claimedBy === 'cursor' ? goal : goal + 1} is past the end of the log (${page.head})`,
        );
      pending = page.next < goal ? this.fetchPage(Math.max(page.next, this.position)) : undefined;
      const before = this.position;
      this.applyPage(page);
      this.options.onPage?.(this.position, page.head);
      // Publishing now may store a reaction that the replay would find further on: the bus answers that one as a duplicate.
      if (this.state.pendingReactions >= this.maxPending) await this.publishAll();
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

  /** One page, one commit: its valid events after the position, and the position moved to the page's end. */
  private applyPage(page: LogPage): void {
    const events: Envelope[] = [];
    let reached = this.position;
    for (const raw of page.events) {
      if (raw.seq <= reached) continue;
      const parsed = parseEnvelope(raw);
      if (parsed.success) {
        events.push(parsed.data);
      } else {
        // Stored but unreadable: applying it is impossible and stopping would stall the service forever.
        this.options.logger.error(
          { seq: raw.seq, issues: describeIssues(parsed.error.issues, 'event').message },
          'skipping an invalid event in the log',
        );
      }
      reached = raw.seq;
    }
    this.commit(events, Math.max(reached, page.next));
  }

  private commit(events: readonly Envelope[], next: number): void {
    if (next <= this.position) return;
    const added = this.state.commit(events, next);
    this.learnHead(next);
    if (added > 0 && this.ready) this.flush();
  }

  /** Starts publishing the outbox in the background, retrying with backoff until it is empty. */
  private flush(): void {
    // While a retry is scheduled, new reactions wait for it: one backoff schedule, however many reactions.
    if (this.closed || this.publishing !== undefined || this.flushTimer !== undefined) return;
    if (this.state.pendingReactions === 0) return;
    this.publishAll().then(
      () => {
        this.flushAttempt = 0;
      },
      (err: unknown) => {
        if (this.closed) return;
        this.flushAttempt += 1;
        const wait = backoffDelay(this.flushAttempt, 200, 10_000);
        this.options.logger.warn(
          {
            err: err instanceof Error ? err.message : String(err),
            pending: this.state.pendingReactions,
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

  /**
   * A batch the log refused as a whole because one reaction's id is stored with other data
   * (published by another process under this id, or decided again differently after a lost tail):
   * each one alone, and that one, which can never be stored, is said loudly and dropped. The first
   * one stands; retrying it would hold up every reaction behind it forever.
   */
  private async publishEachKeepingStored(batch: readonly NewEvent[]): Promise<void> {
    for (const event of batch) {
      try {
        await this.options.bus.publish(event);
      } catch (err) {
        if (!(err instanceof IdempotencyConflictError)) throw err;
        this.options.logger.error(
          { id: event.id, type: event.type },
          'a reaction is stored in the log with other data: the stored one stands, this one is dropped',
        );
      }
    }
  }

  /** Publishes the outbox until it is empty; one run at a time, which every caller shares. */
  private publishAll(): Promise<void> {
    this.publishing ??= (async () => {
      try {
        while (this.state.pendingReactions > 0 && !this.closed) {
          // Reactions that piled up while the last publish was in flight go together: one request
          // and one commit for a burst, where one publish each would queue them behind each other.
          const batch = this.state.pendingBatch(PUBLISH_BATCH);
          if (batch.length === 0) return;
          try {
            if (batch.length === 1) await this.options.bus.publish(batch[0]!);
            else await this.options.bus.publishBatch(batch);
          } catch (err) {
            if (!(err instanceof IdempotencyConflictError)) throw err;
            await this.publishEachKeepingStored(batch);
          }
          this.state.published(batch.map((event) => event.id!));
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
