import type { EventMeta } from '@mini-blog/common/events';
import type { Logger } from '@mini-blog/common/service';
import { ConflictError, IdempotencyConflictError } from '@mini-blog/common/transport';
import { LogUnavailableError } from '../errors';
import type { ParkChange, PendingEvent, Refusal, WriteReply, WriteRequest } from './log-writer';
import type { BusMetrics } from '../metrics';
import type { CursorRecord, EventStore } from './store';
import type { Writer } from './writer';

export interface AppendResult {
  readonly id: string;
  readonly seq: number;
  readonly duplicate: boolean;
}

/** What waits for the next commit: its parts of the request, and who to tell. */
interface Batch {
  readonly events: PendingEvent[];
  /** The number of events of each publish. */
  readonly groups: number[];
  readonly cursors: Map<string, readonly [string, number, number]>;
  readonly parks: ParkChange[];
  readonly done: ((reply: WriteReply) => void)[];
  probe: boolean;
}

const emptyBatch = (): Batch => ({ events: [], groups: [], cursors: new Map(), parks: [], done: [], probe: false });

/** While the log cannot be written, a probe write is tried this often to notice that it can again. */
export const PROBE_INTERVAL_MS = 1000;

export interface WriteFailure {
  readonly error: string;
  readonly since: string;
}

/** A commit starts without waiting for the end of the turn once this many events wait. */
const EAGER_COMMIT_EVENTS = 1000;

/**
 * Group commit. Every write (publishes, cursor moves, parked records) waits for the next
 * transaction; one transaction is in flight at a time, in the writer thread, and the next one
 * takes everything that arrived meanwhile. Under load a commit's disk sync is shared by every
 * publish of its turn, and the event loop keeps parsing requests while the disk works. A caller
 * is answered only after the commit: a 2xx always means "on disk".
 */
export class GroupCommitter {
  private batch = emptyBatch();
  private writing = false;
  private scheduled = false;
  private idleWaiters: (() => void)[] = [];
  private failure: WriteFailure | undefined;
  private probeTimer: NodeJS.Timeout | undefined;
  /** The fault switch "slow the log": each commit waits this long before it is written. */
  slowMs = 0;

  constructor(
    private readonly store: EventStore,
    private readonly writer: Writer,
    private readonly metrics: BusMetrics,
    private readonly logger: Logger,
    /** Called after each commit with the events it added (duplicates left out). */
    private readonly onAppended: (events: readonly EventMeta[]) => void,
  ) {}

  /**
   * Stores the events as one all-or-nothing group, in order; resolves once committed. Rejects with
   * `ConflictError` or `IdempotencyConflictError` when the group was refused (nothing of it stored),
   * `LogUnavailableError` when the commit failed.
   */
  publish(events: readonly PendingEvent[]): Promise<AppendResult[]> {
    return new Promise((resolve, reject) => {
      const start = this.batch.events.length;
      const group = this.batch.groups.length;
      this.batch.events.push(...events);
      this.batch.groups.push(events.length);
      this.batch.done.push((reply) => {
        if (!reply.ok) {
          reject(new LogUnavailableError(reply.error));
          return;
        }
        const refusal = reply.refusals.find(([refused]) => refused === group)?.[1];
        if (refusal) {
          reject(refusalError(refusal));
          return;
        }
        resolve(
          events.map((event, index) => ({
            id: event.id,
            seq: reply.seqs[start + index]!,
            duplicate: reply.duplicates[start + index]!,
          })),
        );
      });
      this.schedule();
    });
  }

  /** Writes subscribers' cursors with the next commit. */
  saveCursors(cursors: ReadonlyMap<string, CursorRecord>): Promise<void> {
    for (const [subscriber, { cursor, acked }] of cursors)
      this.batch.cursors.set(subscriber, [subscriber, cursor, acked]);
    return this.whenCommitted();
  }

  /** Records or removes a parked event with the next commit. */
  changeParked(change: ParkChange): Promise<void> {
    this.batch.parks.push(change);
    return this.whenCommitted();
  }

  /**
   * Set from a failed commit until the next one succeeds: the bus is then not ready, so that no
   * publish is sent its way only to be refused. Probe writes find out when the disk is back,
   * since a bus that is not ready gets no publishes to try with.
   */
  get writeFailure(): WriteFailure | undefined {
    return this.failure;
  }

  /** Stops the probe writes (on shutdown). */
  stopProbing(): void {
    clearInterval(this.probeTimer);
    this.probeTimer = undefined;
  }

  /** Resolves once every write handed over so far is committed (or has failed). */
  idle(): Promise<void> {
    if (!this.writing && this.batch.done.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private whenCommitted(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.batch.done.push((reply) => (reply.ok ? resolve() : reject(new Error(reply.error))));
      this.schedule();
    });
  }

  /**
   * Commits after the current turn's I/O callbacks, so that they all join the same transaction;
   * at once when enough events are waiting, so that the writer starts on them while the event loop
   * still parses the rest of a burst, instead of the two taking turns.
   */
  private schedule(): void {
    if (this.writing) return;
    if (this.batch.events.length >= EAGER_COMMIT_EVENTS) {
      void this.commit();
      return;
    }
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (this.writing) return;
      if (this.batch.done.length > 0) void this.commit();
      else this.settleIdle();
    });
  }

  private probe(): void {
    this.batch.probe = true;
    this.batch.done.push(() => undefined);
    this.schedule();
  }

  private settleIdle(): void {
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private async commit(): Promise<void> {
    const batch = this.batch;
    this.batch = emptyBatch();
    this.writing = true;
    const time = new Date().toISOString();
    const { events } = batch;
    const request: WriteRequest = {
      time,
      ids: events.map((event) => event.id),
      types: events.map((event) => event.type),
      data: events.map((event) => event.dataJson),
      keys: events.map((event) => event.key ?? null),
      expected: events.map((event) => event.expectedLastSeq ?? null),
      traceparents: events.map((event) => event.traceparent ?? null),
      publishers: events.map((event) => event.publisher ?? null),
      groups: batch.groups,
      cursors: [...batch.cursors.values()],
      parks: batch.parks,
      probe: batch.probe,
    };
    const stopTimer = this.metrics.commitSeconds.startTimer();
    // A slow disk, as the fault switch has it: the writes that arrive meanwhile share the next commit.
    if (this.slowMs > 0) await new Promise((resolve) => setTimeout(resolve, this.slowMs));
    const reply = await this.writer.write(request);
    stopTimer();
    this.writing = false;
    if (reply.ok) {
      this.store.committed(reply.head);
      this.reportAppended(batch.events, reply, time);
      if (this.failure) {
        this.logger.info({ since: this.failure.since }, 'the log can be written again');
        this.failure = undefined;
        this.stopProbing();
      }
    } else {
      if (!batch.probe || !this.failure)
        this.logger.error({ err: reply.error, events: batch.events.length }, 'the log could not be written');
      this.failure ??= { error: reply.error, since: time };
      this.probeTimer ??= setInterval(() => this.probe(), PROBE_INTERVAL_MS).unref();
    }
    for (const done of batch.done) done(reply);
    if (this.batch.done.length > 0) this.schedule();
    else this.settleIdle();
  }

  private reportAppended(
    events: readonly PendingEvent[],
    reply: Extract<WriteReply, { ok: true }>,
    time: string,
  ): void {
    if (events.length === 0) return;
    const appended: EventMeta[] = [];
    events.forEach((event, index) => {
      if (!reply.duplicates[index] && reply.seqs[index]! > 0)
        appended.push({
          seq: reply.seqs[index]!,
          type: event.type,
          id: event.id,
          time,
          ...(event.publisher === undefined ? {} : { publisher: event.publisher }),
          ...(event.traceparent === undefined ? {} : { traceId: event.traceparent.slice(3, 35) }),
        });
    });
    this.metrics.commitSize.observe(events.length);
    this.metrics.appended.inc(appended.length);
    this.metrics.duplicates.inc(reply.duplicates.filter(Boolean).length);
    this.metrics.refusals.inc(reply.refusals.length);
    if (appended.length > 0) this.onAppended(appended);
  }
}

function refusalError(refusal: Refusal): Error {
  return refusal.reason === 'expected-last-seq'
    ? new ConflictError(refusal.key, refusal.lastSeq)
    : new IdempotencyConflictError(refusal.id);
}
