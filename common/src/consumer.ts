import { createHmac, timingSafeEqual } from 'node:crypto';
import { Router, type Request } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import { backoffDelay, type BusClient, type LogPage } from './bus-client';
import { envelopeSchema, parseEnvelope, type Envelope, type EventType, type NewEvent } from './events';
import { AppError } from './service/errors';
import { describeIssues } from './service/validation';

/** Changes the state for one event; returns the events this one causes (with deterministic ids). */
export type ApplyEvent = (event: Envelope) => readonly NewEvent[] | void;

export interface ConsumerOptions {
  readonly name: string;
  readonly bus: Pick<BusClient, 'readLog' | 'publish' | 'publishBatch'>;
  /** The types `apply` handles, including the ones it publishes itself (so replays can see them). */
  readonly types: readonly EventType[];
  readonly apply: ApplyEvent;
  readonly logger: Logger;
  readonly pageSize?: number;
  /** Called once, when the startup replay has caught up. */
  readonly onCaughtUp?: (position: number) => void;
  /**
   * When set, only deliveries signed with one of these secrets are accepted (401 otherwise). Two
   * during a rotation: the new one and the one the bus may still sign with.
   */
  readonly secrets?: readonly string[];
}

/** The header in which the bus says up to which seq it has delivered to this subscriber before. */
export const BUS_CURSOR_HEADER = 'x-bus-cursor';

/** Headers of a signed delivery: the signature is HMAC-SHA256 over `${id}.${timestamp}.${body}`. */
export const BUS_DELIVERY_ID_HEADER = 'x-bus-delivery-id';
export const BUS_TIMESTAMP_HEADER = 'x-bus-timestamp';
export const BUS_SIGNATURE_HEADER = 'x-bus-signature';
/** A signed delivery older (or newer) than this is refused, so a captured one cannot be replayed later. */
export const SIGNATURE_TOLERANCE_S = 300;

/** The `x-bus-signature` value for a delivery; `timestamp` in Unix seconds. */
export function signDelivery(secret: string, id: string, timestamp: number, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${id}.${timestamp}.${body}`).digest('hex')}`;
}

function verifySignature(req: Request, secrets: readonly string[]): void {
  const id = req.header(BUS_DELIVERY_ID_HEADER);
  const timestamp = Number(req.header(BUS_TIMESTAMP_HEADER));
  const signature = Buffer.from(req.header(BUS_SIGNATURE_HEADER) ?? '');
  if (!id || signature.length === 0) throw new AppError(401, `${BUS_SIGNATURE_HEADER}: is required (deliveries must be signed)`);
  if (!Number.isSafeInteger(timestamp) || Math.abs(Date.now() / 1000 - timestamp) > SIGNATURE_TOLERANCE_S) {
    throw new AppError(401, `${BUS_TIMESTAMP_HEADER}: must be within ${SIGNATURE_TOLERANCE_S} s of now`);
  }
  // The bus sends compact JSON, so serialising the parsed body again gives back the signed bytes.
  const body = JSON.stringify(req.body);
  const valid = secrets.some((secret) => {
    const expected = Buffer.from(signDelivery(secret, id, timestamp, body));
    return expected.length === signature.length && timingSafeEqual(expected, signature);
  });
  if (!valid) throw new AppError(401, `${BUS_SIGNATURE_HEADER}: does not match`);
}

/** Events in one delivery at most: far above the bus's batches, a bound on the work one request makes. */
const MAX_DELIVERY = 10_000;
const batchSchema = z.array(envelopeSchema).max(MAX_DELIVERY);

/** Events per page of a replay: few round trips, and still a short pause of the event loop per page. */
const DEFAULT_PAGE_SIZE = 5000;

/** Reactions per publish request: far below the bus's batch limit, and its body limit at full-size comments. */
const PUBLISH_BATCH = 200;

/**
 * Turns the bus's at-least-once, possibly out-of-order delivery into exactly-once, in-order
 * application:
 * - every event is applied in `seq` order, one at a time (deliveries, catch-up and read-your-writes
 *   syncs share one queue);
 * - an event at or below the position is a duplicate and is ignored;
 * - a gap (the bus delivered past the position) is filled by reading the log first;
 * - at startup the whole log is replayed, and the service is ready only once caught up;
 * - the events `apply` returns wait in an outbox until published; one that the replay finds
 *   further on in the log is already stored and is not published again.
 */
export class Consumer {
  private position = 0;
  private ready = false;
  private tail: Promise<unknown> = Promise.resolve();
  private readonly outbox = new Map<string, NewEvent>();
  private flushing = false;
  private flushAttempt = 0;
  private flushTimer: NodeJS.Timeout | undefined;
  private readonly handled: ReadonlySet<string>;
  readonly router: Router;

  constructor(private readonly options: ConsumerOptions) {
    this.handled = new Set(options.types);
    this.router = Router();
    this.router.post('/events', async (req, res) => {
      if (options.secrets && options.secrets.length > 0) verifySignature(req, options.secrets);
      if (!this.ready) throw new AppError(503, `${options.name}: catching up with the log, deliver again later`);
      const events = parseDelivery(req);
      const cursor = Number(req.header(BUS_CURSOR_HEADER));
      await this.deliver(events, Number.isSafeInteger(cursor) && cursor >= 0 ? cursor : undefined);
      res.json({ status: 'ok', position: this.position });
    });
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
    this.options.onCaughtUp?.(this.position);
    this.options.logger.info({ position: this.position, ms: Date.now() - started, pending: this.outbox.size }, 'caught up with the log');
    this.flush();
  }

  /** Applies everything in the log up to its current head: after it, this service has seen every event stored so far. */
  syncToHead(): Promise<void> {
    return this.serial(() => this.readToHead());
  }

  /** Applies delivered events (already validated) in order, filling any gap from the log. */
  deliver(events: readonly Envelope[], busCursor?: number): Promise<void> {
    return this.serial(async () => {
      const sorted = [...events].sort((a, b) => a.seq - b.seq);
      if (busCursor !== undefined && busCursor > this.position) await this.readTo(busCursor);
      for (const event of sorted) {
        // Without the bus's cursor any seq past the next one is a gap, within a batch too.
        if (busCursor === undefined && event.seq > this.position + 1) await this.readTo(event.seq - 1);
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

  private readToHead(): Promise<void> {
    return this.readTo(undefined);
  }

  /**
   * Applies the log up to `target` (by default the head the first page reports). The next page is
   * asked for before the current one is applied, so that the bus reads and sends it meanwhile: a
   * replay then takes about the longer of the two sides rather than their sum.
   */
  private async readTo(target: number | undefined): Promise<void> {
    let goal = target;
    let pending = goal === undefined || this.position < goal ? this.fetchPage(this.position) : undefined;
    while (pending) {
      const page = await pending;
      goal ??= page.head;
      pending = page.next < goal ? this.fetchPage(Math.max(page.next, this.position)) : undefined;
      const before = this.position;
      this.applyPage(page);
      if (pending && this.position === before) {
        throw new Error(`${this.options.name}: the log ends at ${page.head}, before ${goal}`);
      }
    }
  }

  private fetchPage(after: number): Promise<LogPage> {
    const page = this.options.bus.readLog({ after, limit: this.options.pageSize ?? DEFAULT_PAGE_SIZE, types: this.options.types });
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
        this.options.logger.error({ seq: raw.seq, issues: describeIssues(parsed.error.issues, 'event').message }, 'skipping an invalid event in the log');
        this.position = Math.max(this.position, raw.seq);
      }
    }
    this.position = Math.max(this.position, page.next);
  }

  private applyOne(event: Envelope): void {
    if (event.seq <= this.position) return;
    const reactions = (this.handled.has(event.type) ? this.options.apply(event) : undefined) ?? [];
    const byId = reactions.map((reaction) => {
      if (reaction.id === undefined) throw new Error(`${this.options.name}: a reaction to ${event.type} needs a deterministic id`);
      return [reaction.id, reaction] as const;
    });
    // Counted only once applied: if apply throws, the bus's redelivery (or the next replay) applies the event again.
    this.position = event.seq;
    this.outbox.delete(event.id);
    for (const [id, reaction] of byId) this.outbox.set(id, reaction);
    if (byId.length > 0 && this.ready) this.flush();
  }

  private flush(): void {
    // While a retry is scheduled, new reactions wait for it: one backoff schedule, however many reactions.
    if (this.flushing || this.flushTimer !== undefined || this.outbox.size === 0) return;
    this.flushing = true;
    void (async () => {
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
        this.flushAttempt = 0;
      } catch (err) {
        this.flushAttempt += 1;
        const wait = backoffDelay(this.flushAttempt, 200, 10_000);
        this.options.logger.warn({ err: err instanceof Error ? err.message : String(err), pending: this.outbox.size, retryInMs: Math.round(wait) }, 'publishing reactions failed');
        this.flushTimer = setTimeout(() => {
          this.flushTimer = undefined;
          this.flush();
        }, wait);
        this.flushTimer.unref();
      } finally {
        this.flushing = false;
      }
    })();
  }
}

function parseDelivery(req: Request): readonly Envelope[] {
  const items: unknown[] = Array.isArray(req.body) ? req.body : [req.body];
  if (items.length <= MAX_DELIVERY) {
    const events: Envelope[] = [];
    for (const item of items) {
      const parsed = parseEnvelope(item);
      if (!parsed.success) break;
      events.push(parsed.data);
    }
    if (events.length === items.length) return events;
  }
  // Refused: checked again apart rather than as a union, so that the message names the field that is wrong.
  const result = Array.isArray(req.body) ? batchSchema.safeParse(req.body) : envelopeSchema.safeParse(req.body);
  if (!result.success) {
    const { message, fields } = describeIssues(result.error.issues, 'event');
    throw new AppError(400, message, fields);
  }
  return Array.isArray(result.data) ? result.data : [result.data];
}

export function createConsumer(options: ConsumerOptions): Consumer {
  return new Consumer(options);
}
