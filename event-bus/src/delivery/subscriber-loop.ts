import { randomUUID } from 'node:crypto';
import type { Secrets } from '@mini-blog/common/auth';
import {
  NETWORK_FAILURE_WORDS,
  NO_DELIVERY_FAULTS,
  type DeliveryFaults,
  type SubscriptionStatus,
} from '@mini-blog/common/events';
import type { Logger } from '@mini-blog/common/service';
import { backoffDelay } from '@mini-blog/common/transport';
import { request, type Dispatcher } from 'undici';
import type { SubscriberConfig } from '../config';
import { NotParkedError } from '../errors';
import type { GroupCommitter } from '../log/group-commit';
import type { BusMetrics } from '../metrics';
import type { CursorRecord, EventStore, StoredEvent } from '../log/store';
import { deliveryHeaders } from './signing';

/** A configured subscriber and the secrets of its credential, which sign its deliveries. */
export interface Subscriber extends SubscriberConfig {
  readonly secrets: Secrets;
}

export interface DeliveryOptions {
  /** 4xx answers (other than 408/429) for one event before it is parked, or blocks the subscriber. */
  readonly poisonAttempts: number;
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  readonly timeoutMs: number;
}

/** How one delivery of one or more events ended. */
type Outcome = 'delivered' | 'parked' | 'blocked' | 'rejected-batch' | 'interrupted';

/**
 * `reason` is short and public (`HTTP 500`, `timeout`): `GET /subscriptions` shows it. `detail`,
 * with the subscriber's own answer, goes only to the log and the admin's parked records.
 */
type Answer =
  | { readonly ok: true }
  | { readonly ok: false; readonly poison: boolean; readonly reason: string; readonly detail: string };

/**
 * A 4xx that rejects the event itself. 408 and 429 say "later"; 401, 403 and 404 say the request
 * or the route is wrong (a secret or URL misconfigured): they would reject every event alike, so
 * they are retried, visibly, instead of parking the whole stream.
 */
const isPoison = (status: number) => status >= 400 && status < 500 && ![401, 403, 404, 408, 429].includes(status);

/** What the fault switch "fail" answers in the subscriber's place: a rejection, and the event parks at once. */
const REFUSED_BY_SWITCH = {
  reason: 'refused (fault switch)',
  detail: 'the fault switch "fail" refused the delivery in place of the subscriber',
} as const;

/** Read ahead for one-event-per-request subscribers: one query serves this many deliveries. */
const READ_AHEAD = 100;
/** Batches stay well under the 100 kB body limit of the services' JSON parser. */
const MAX_BATCH_EVENTS = 500;
const MAX_BATCH_BYTES = 64 * 1024;
const MAX_ERROR_TEXT = 300;

/** Network failures by their code, in the few words the public view shows. */
const NETWORK_REASONS: Readonly<Record<string, string>> = {
  ...NETWORK_FAILURE_WORDS,
  EHOSTUNREACH: 'host unreachable',
  ETIMEDOUT: 'timeout',
  UND_ERR_SOCKET: 'connection closed',
};

/**
 * One subscriber's delivery loop: events in `seq` order, one delivery in flight, retried with
 * backoff and jitter until acknowledged, parked (or blocking) after repeated 4xx. Each subscriber
 * has its own loop, so a slow or dead one holds back nobody else.
 */
export class SubscriberLoop {
  private cursor: number;
  private acked: number;
  private inFlight = 0;
  private attempts = 0;
  private lastError: string | null = null;
  private lastErrorAt: string | null = null;
  private blockedAt: number | null = null;
  private readonly parked: Set<number>;
  private readonly replays = new Set<number>();
  /** Bumped by every admin change and by stop: a delivery started before it must not move the cursor. */
  private generation = 0;
  private stopped = false;
  private waiter: { readonly wakeOnAppend: boolean; readonly done: () => void } | undefined;
  private abortDelivery: AbortController | undefined;
  private running: Promise<void> | undefined;
  private switches: DeliveryFaults = NO_DELIVERY_FAULTS;
  /** The events the switch "fail" parked: turning it off replays them, in order. */
  private readonly parkedBySwitch = new Set<number>();

  constructor(
    readonly config: Subscriber,
    private readonly store: EventStore,
    private readonly committer: GroupCommitter,
    private readonly dispatcher: Dispatcher,
    private readonly options: DeliveryOptions,
    private readonly logger: Logger,
    private readonly metrics: BusMetrics,
    start: CursorRecord,
    /** Called whenever the cursor moves. */
    private readonly onProgress: (loop: SubscriberLoop) => void,
  ) {
    this.cursor = start.cursor;
    this.acked = start.acked;
    this.parked = new Set(store.listParked(config.name).map((record) => record.seq));
  }

  get name(): string {
    return this.config.name;
  }

  get position(): CursorRecord {
    return { cursor: this.cursor, acked: this.acked };
  }

  start(): void {
    this.running ??= this.run().catch((err: unknown) => {
      this.logger.fatal({ subscriber: this.name, err }, 'delivery loop failed');
      throw err;
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.interrupt();
    await this.running;
  }

  get faults(): DeliveryFaults {
    return this.switches;
  }

  /**
   * Sets the fault switches (`FAULT_SWITCHES=on`). Like an admin change, it interrupts a delivery
   * in flight or a wait, which starts again under the new switches (the service dedupes a repeat).
   * Turning "fail" off replays what it parked, oldest first and before anything newer, as
   * `replay` would one by one: the subscriber then applies every event in order, nothing skipped.
   */
  setFaults(faults: DeliveryFaults): void {
    if (this.switches.failing && !faults.failing) {
      for (const seq of [...this.parkedBySwitch].sort((a, b) => a - b)) {
        if (!this.parked.has(seq)) continue;
        if (this.blockedAt === seq) this.blockedAt = null;
        else this.replays.add(seq);
      }
      this.parkedBySwitch.clear();
      this.attempts = 0;
    }
    this.switches = faults;
    this.interrupt();
  }

  /** New events are in the log. A subscriber waiting out a backoff keeps waiting. */
  notify(): void {
    if (this.waiter?.wakeOnAppend) this.waiter.done();
  }

  status(head: number): SubscriptionStatus {
    const { name, mode, types, batch } = this.config;
    return {
      name,
      cursor: this.cursor,
      acked: this.acked,
      head,
      lag: Math.max(0, head - this.cursor),
      inFlight: this.inFlight,
      attempts: this.attempts,
      parked: this.parked.size,
      blockedAt: this.blockedAt,
      lastError: this.lastError,
      lastErrorAt: this.lastErrorAt,
      mode,
      types,
      batch,
    };
  }

  /** Delivers a parked event again; its record goes once the subscriber acknowledges it. */
  replay(seq: number): void {
    this.requireParked(seq);
    if (this.blockedAt === seq) {
      this.blockedAt = null;
      this.attempts = 0;
    } else {
      this.replays.add(seq);
    }
    this.interrupt();
  }

  /** Gives up on a parked event for good; a subscriber blocked on it moves on. */
  async skip(seq: number): Promise<void> {
    this.requireParked(seq);
    await this.committer.changeParked({ op: 'unpark', subscriber: this.name, seq });
    this.parked.delete(seq);
    this.replays.delete(seq);
    if (this.blockedAt === seq) {
      this.blockedAt = null;
      this.attempts = 0;
      this.moveTo(seq, this.acked);
    }
    this.interrupt();
  }

  /** Delivery starts again after `cursor`: everything up to it counts as delivered. */
  async resetCursor(cursor: number): Promise<void> {
    if (this.blockedAt !== null && cursor < this.blockedAt) {
      await this.committer.changeParked({ op: 'unpark', subscriber: this.name, seq: this.blockedAt });
      this.parked.delete(this.blockedAt);
    }
    this.blockedAt = null;
    this.attempts = 0;
    this.moveTo(cursor, cursor);
    this.interrupt();
  }

  private requireParked(seq: number): void {
    if (!this.parked.has(seq)) throw new NotParkedError(this.name, seq);
  }

  private moveTo(cursor: number, acked: number): void {
    this.cursor = cursor;
    this.acked = acked;
    this.onProgress(this);
  }

  private interrupt(): void {
    this.generation += 1;
    this.abortDelivery?.abort();
    this.waiter?.done();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const [replay] = this.replays;
      if (this.switches.paused) {
        // Until a switch or an admin change wakes it; new events only make the lag grow.
        await this.wait(null, false);
      } else if (replay !== undefined) {
        await this.redeliver(replay);
      } else if (this.blockedAt !== null || this.cursor >= this.store.head) {
        await this.wait(null);
      } else {
        await this.deliverNext();
      }
    }
  }

  private async redeliver(seq: number): Promise<void> {
    const [event] = this.store.read(seq - 1, 1, null, seq);
    const outcome = event ? await this.deliver([event], this.generation) : 'delivered';
    if (outcome === 'delivered' || outcome === 'parked') this.replays.delete(seq);
  }

  private async deliverNext(): Promise<void> {
    const generation = this.generation;
    const head = this.store.head;
    const limit = this.config.batch ? MAX_BATCH_EVENTS : READ_AHEAD;
    const events = this.store.read(this.cursor, limit, this.config.types);
    // A short read reached the head: nothing for this subscriber lies between its last event and the head.
    const scannedTo = events.length < limit ? head : events[events.length - 1]!.seq;
    const groups = this.config.batch ? toBatches(events) : events.map((event) => [event]);
    for (const group of groups) {
      let outcome = await this.deliver(group, generation);
      if (outcome === 'rejected-batch') {
        // One of them is refused: delivered one by one, the poison event is found and parked alone.
        for (const event of group) {
          outcome = await this.deliver([event], generation);
          if (outcome !== 'delivered' && outcome !== 'parked') return;
        }
      } else if (outcome !== 'delivered' && outcome !== 'parked') {
        return;
      }
    }
    if (generation === this.generation && scannedTo > this.cursor) this.moveTo(scannedTo, this.acked);
  }

  /** Delivers until acknowledged, parked, blocked, or interrupted by an admin change or stop. */
  private async deliver(events: readonly StoredEvent[], generation: number): Promise<Outcome> {
    const body = this.config.batch ? `[${events.map((event) => event.json).join(',')}]` : events[0]!.json;
    const first = events[0]!;
    const last = events[events.length - 1]!;
    const isReplay = last.seq <= this.cursor;
    // One id for every attempt of this delivery, as webhook receivers expect.
    const deliveryId = randomUUID();
    let rejections = 0;
    for (let attempt = 0; ; attempt += 1) {
      if (generation !== this.generation) return 'interrupted';
      this.inFlight = events.length;
      const stopTimer = this.metrics.deliverySeconds.startTimer({ subscriber: this.name });
      const { latencyMs, failing } = this.switches;
      if (latencyMs > 0) {
        await this.wait(latencyMs, false);
        if (generation !== this.generation) {
          this.inFlight = 0;
          return 'interrupted';
        }
      }
      if (failing) {
        stopTimer();
        this.inFlight = 0;
        this.lastError = REFUSED_BY_SWITCH.reason;
        this.lastErrorAt = new Date().toISOString();
        this.metrics.deliveries.inc({ subscriber: this.name, outcome: 'rejected' });
        if (events.length > 1) return 'rejected-batch';
        this.parkedBySwitch.add(first.seq);
        return await this.park(first, 1, REFUSED_BY_SWITCH, isReplay);
      }
      const answer = await this.post(deliveryId, body);
      stopTimer();
      this.inFlight = 0;
      this.metrics.deliveries.inc({
        subscriber: this.name,
        outcome: answer.ok ? 'ok' : answer.poison ? 'rejected' : 'failed',
      });
      if (generation !== this.generation) return 'interrupted';
      if (answer.ok) {
        this.metrics.delivered.inc({ subscriber: this.name }, events.length);
        this.attempts = 0;
        if (!isReplay) this.moveTo(last.seq, last.seq);
        const delivered = events.filter((event) => this.parked.delete(event.seq));
        for (const event of delivered)
          await this.committer.changeParked({ op: 'unpark', subscriber: this.name, seq: event.seq });
        return 'delivered';
      }
      this.attempts += 1;
      this.lastError = answer.reason;
      this.lastErrorAt = new Date().toISOString();
      if (answer.poison) {
        if (events.length > 1) return 'rejected-batch';
        rejections += 1;
        if (rejections >= this.options.poisonAttempts) return await this.park(first, rejections, answer, isReplay);
      }
      this.logger.debug(
        { subscriber: this.name, seq: first.seq, attempt: this.attempts, err: answer.detail },
        'delivery failed',
      );
      await this.wait(
        this.options.retryBaseMs + backoffDelay(attempt, this.options.retryBaseMs, this.options.retryMaxMs),
      );
    }
  }

  private async park(
    event: StoredEvent,
    rejections: number,
    { reason, detail }: { reason: string; detail: string },
    isReplay: boolean,
  ): Promise<Outcome> {
    const block = this.config.mode === 'block' && !isReplay;
    await this.committer.changeParked({
      op: 'park',
      subscriber: this.name,
      seq: event.seq,
      attempts: rejections,
      reason: detail,
      at: new Date().toISOString(),
    });
    this.parked.add(event.seq);
    this.metrics.parked.inc({ subscriber: this.name });
    this.attempts = 0;
    if (block) {
      this.blockedAt = event.seq;
      this.lastError = `blocked at seq ${event.seq} (${event.type}) after ${rejections} rejections: ${reason}`;
      this.logger.error(
        { subscriber: this.name, seq: event.seq, type: event.type, err: detail },
        'delivery blocked by a rejected event',
      );
      return 'blocked';
    }
    this.logger.warn(
      { subscriber: this.name, seq: event.seq, type: event.type, err: detail },
      'event parked after repeated rejections',
    );
    if (!isReplay) this.moveTo(event.seq, this.acked);
    return 'parked';
  }

  private async post(deliveryId: string, body: string): Promise<Answer> {
    const abort = new AbortController();
    this.abortDelivery = abort;
    try {
      const response = await request(this.config.url, {
        method: 'POST',
        dispatcher: this.dispatcher,
        headers: deliveryHeaders(this.config.secrets, deliveryId, body, this.acked),
        body,
        signal: AbortSignal.any([abort.signal, AbortSignal.timeout(this.options.timeoutMs)]),
      });
      // Read to the end even when unused: a connection goes back to the pool only once drained.
      const text = await response.body.text();
      const status = response.statusCode;
      if (status >= 200 && status < 300) return { ok: true };
      return {
        ok: false,
        poison: isPoison(status),
        reason: `HTTP ${status}`,
        detail: `answered ${status}: ${text.slice(0, MAX_ERROR_TEXT)}`,
      };
    } catch (err) {
      const { name, message, code } = (err ?? {}) as { name?: string; message?: string; code?: string };
      if (name === 'TimeoutError')
        return { ok: false, poison: false, reason: 'timeout', detail: `no answer within ${this.options.timeoutMs} ms` };
      return {
        ok: false,
        poison: false,
        reason: NETWORK_REASONS[code ?? ''] ?? 'network error',
        detail: message ?? String(err),
      };
    } finally {
      this.abortDelivery = undefined;
    }
  }

  /** Waits `ms`, or (with `null`) until new events arrive; an admin change or stop ends either. */
  private wait(ms: number | null, wakeOnAppend = ms === null): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiter = undefined;
        resolve();
      };
      const timer = ms === null ? undefined : setTimeout(done, ms);
      timer?.unref();
      this.waiter = { wakeOnAppend, done };
    });
  }
}

/** Consecutive events cut into request bodies that stay under the size and count limits. */
function toBatches(events: readonly StoredEvent[]): StoredEvent[][] {
  const batches: StoredEvent[][] = [];
  let current: StoredEvent[] = [];
  let bytes = 0;
  for (const event of events) {
    const size = Buffer.byteLength(event.json);
    if (current.length > 0 && (current.length >= MAX_BATCH_EVENTS || bytes + size > MAX_BATCH_BYTES)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(event);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}
