import { setTimeout as delay } from 'node:timers/promises';
import {
  AckPolicy,
  DeliverPolicy,
  type ConsumerConfig,
  type ConsumerInfo,
  type ConsumerMessages,
  type JsMsg,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { NO_DELIVERY_FAULTS, parseEnvelope, type DeliveryFaults } from '../../events';
import { backoffDelay } from '../backoff';
import type { DeliverySink } from '../types';
import type { Link } from './link';
import { CONSUMER_NOT_FOUND, fromJsMsg, isApiError, toRawEnvelope } from './stream';
import { STREAM_NAME } from './subjects';

/** Deliveries of one event before it is parked (terminated: no more redeliveries). */
export const MAX_DELIVER = 10;
/** Pauses before the redeliveries of an event the service failed to apply (the last one repeats). */
export const REDELIVERY_BACKOFF_MS = [1000, 2000, 5000, 10_000, 30_000] as const;
/** The pause before a redelivery of a message whose ack never came (the process died while applying it). */
const ACK_WAIT_MS = 30_000;
/** Unacknowledged events per consumer at most: bounds what a replica holds and what a crash redelivers. */
export const MAX_ACK_PENDING = 1000;
/** Messages one pull asks for. */
const PULL_BATCH = 256;
/**
 * How long one pull waits on the server; the server's heartbeats come at half of it, and two missed
 * ones start a new pull. Short, so that a pull left on a node that died (its consumer's leader
 * moved) is replaced within seconds rather than the client's default 30.
 */
const PULL_EXPIRES_MS = 5000;
/** A replica's consumer left behind by a replica that is gone for good is removed by the server after this. */
export const INACTIVE_THRESHOLD_MS = 60 * 60_000;

export interface LiveConsumerOptions {
  /** The durable consumer's name: this replica's slot's (claimed on the first call, and again after it was lost). */
  readonly name: () => Promise<string>;
  /** Whether the slot of the name last given is still this replica's (after an interruption: another may have it). */
  readonly owned: () => Promise<boolean>;
  readonly logger: Logger;
  /** Deliveries of one event before it is parked; MAX_DELIVER by default. */
  readonly maxDeliver?: number;
  /** Pauses before redeliveries; REDELIVERY_BACKOFF_MS by default. */
  readonly redeliveryBackoffMs?: readonly number[];
}

export interface LiveStatus {
  readonly durable: string | undefined;
  /** Events terminated after MAX_DELIVER failed deliveries since this process started. */
  readonly parked: number;
  readonly lastError: string | null;
  /** What someone else changed in the consumer's configuration, once it was seen: the replica is not ready from then on. */
  readonly tampered: readonly string[] | null;
}

/**
 * Live delivery from one durable pull consumer into the consumer engine: once the startup replay
 * has caught up, the consumer is created afresh at the position after it; each message is handed to
 * the engine in order and acknowledged only once applied. An event the engine could not apply is
 * redelivered after a pause (JetStream's nak with delay) up to MAX_DELIVER times, then parked: the
 * message is terminated and stays in the stream, where an operator can read and replay it.
 */
export class LiveConsumer {
  private stopped = false;
  private caughtUp = false;
  private messages: ConsumerMessages | undefined;
  /** The consumer and stream sequences of the last message applied from the current pull, for the engine's cursor. */
  private last: { consumerSeq: number; streamSeq: number } | undefined;
  private parked = 0;
  private lastError: string | null = null;
  private running: Promise<void> | undefined;
  private durable: string | undefined;
  /** The configuration this process gave the consumer: anything else found there was changed by someone else. */
  private expected: Partial<ConsumerConfig> | undefined;
  private tampered: string[] | null = null;
  private switches: DeliveryFaults = NO_DELIVERY_FAULTS;
  /** Ends the wait of a paused consumer. */
  private unpause: (() => void) | undefined;

  constructor(
    private readonly link: () => Promise<Link>,
    private readonly sink: DeliverySink,
    private readonly options: LiveConsumerOptions,
  ) {}

  /**
   * True once the consumer has had nothing pending (the service has seen everything stored before
   * it), and while its configuration is the one this process gave it.
   */
  get isCaughtUp(): boolean {
    return this.caughtUp && this.tampered === null;
  }

  get status(): LiveStatus {
    return { durable: this.durable, parked: this.parked, lastError: this.lastError, tampered: this.tampered };
  }

  get faults(): DeliveryFaults {
    return this.switches;
  }

  /**
   * Sets the fault switches (`FAULT_SWITCHES=on`): paused, it stops pulling (what the consumer
   * holds waits on the server, and the lag grows; messages it had pulled and not applied come
   * again after their ack wait, and the engine fills the gap from the log meanwhile); a latency
   * delays each message before it is applied; failing, each message is refused and parked at once.
   * Turning "fail" off reads the log up to its head, which applies what it parked, in order.
   */
  setFaults(faults: DeliveryFaults): void {
    const undoFail = this.switches.failing && !faults.failing;
    this.switches = faults;
    if (faults.paused) this.messages?.stop();
    else this.unpause?.();
    if (undoFail) {
      this.sink.syncToHead().catch((err: unknown) => {
        this.options.logger.warn({ err: describe(err) }, 'cannot read the log after the switch "fail"');
      });
    }
  }

  /** Ends the current pull: the loop looks again at its slot and its consumer. */
  interrupt(): void {
    this.messages?.stop();
  }

  /**
   * Reads the consumer's configuration and compares it with what this process made: run every few
   * seconds and after a reconnect. A consumer gone is made again (the loop does it); one changed
   * (another filter, other limits, paused, pushed elsewhere) is not trusted: the replica stops
   * reading it and is not ready from then on, since what it applied may already be wrong.
   */
  async check(): Promise<void> {
    const durable = this.durable;
    if (this.stopped || this.tampered || !durable || !this.expected) return;
    const { manager } = await this.link();
    let info: ConsumerInfo;
    try {
      info = await manager.consumers.info(STREAM_NAME, durable);
    } catch (err) {
      if (isApiError(err, CONSUMER_NOT_FOUND)) this.interrupt();
      else throw err;
      return;
    }
    if (this.durable === durable) this.verify(info);
  }

  start(): void {
    this.running ??= this.run();
  }

  /** Stops pulling; `remove` also deletes the consumer (a replica that stops for good). */
  async stop(remove: boolean): Promise<void> {
    this.stopped = true;
    this.messages?.stop();
    this.unpause?.();
    await this.running;
    if (!remove || !this.durable) return;
    try {
      const { manager } = await this.link();
      await manager.consumers.delete(STREAM_NAME, this.durable);
    } catch {
      // The server removes it after INACTIVE_THRESHOLD_MS anyway.
    }
  }

  private async run(): Promise<void> {
    await this.sink.whenReady();
    let fresh = true;
    for (let attempt = 0; !this.stopped && this.tampered === null;) {
      if (this.switches.paused) {
        await new Promise<void>((resolve) => (this.unpause = resolve));
        this.unpause = undefined;
        continue;
      }
      try {
        const { client, manager } = await this.link();
        // After an interruption the slot may have gone to another replica: a new name, made afresh.
        if (!fresh && !(await this.options.owned())) fresh = true;
        const durable = await this.options.name();
        if (durable !== this.durable) fresh = true;
        this.durable = durable;
        const info = fresh ? await this.recreate(manager, durable) : await this.resume(manager, durable);
        fresh = false;
        if (!this.verify(info)) return;
        if (info.num_pending === 0 && info.num_ack_pending === 0) this.caughtUp = true;
        this.last =
          info.delivered.consumer_seq === 0 ? { consumerSeq: 0, streamSeq: info.delivered.stream_seq } : undefined;
        const consumer = client.consumers.getConsumerFromInfo(info);
        // Ends with an error when the consumer is deleted (by an operator, or for inactivity): it is then made again.
        this.messages = await consumer.consume({
          max_messages: PULL_BATCH,
          expires: PULL_EXPIRES_MS,
          abort_on_missing_resource: true,
        });
        attempt = 0;
        for await (const message of this.messages) await this.handle(message);
      } catch (err) {
        if (this.stopped) return;
        attempt += 1;
        this.lastError = describe(err);
        const wait = backoffDelay(Math.min(attempt, 6), 250, 5000) + 100;
        this.options.logger.warn(
          { err: this.lastError, consumer: this.durable, retryInMs: Math.round(wait) },
          'live delivery interrupted',
        );
        await delay(wait);
      }
    }
  }

  /** False (and the replica unready for good) when the consumer is not configured as this process made it. */
  private verify(info: ConsumerInfo): boolean {
    if (this.tampered) return false;
    const changes = this.expected ? configChanges(this.expected, info) : [];
    if (changes.length === 0) return true;
    this.tampered = changes;
    this.caughtUp = false;
    this.messages?.stop();
    this.options.logger.error(
      { consumer: info.name, changes },
      'the consumer was changed by someone else: not trusted, this replica is not ready; rebuild its projection (kubectl blog rebuild <service> --pod <pod>), then restart it',
    );
    return false;
  }

  /** The consumer config for a start right after `position`. */
  private config(durable: string, position: number): Partial<ConsumerConfig> {
    return {
      durable_name: durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: position + 1,
      ack_wait: nanos(ACK_WAIT_MS),
      max_deliver: this.options.maxDeliver ?? MAX_DELIVER,
      max_ack_pending: MAX_ACK_PENDING,
      inactive_threshold: nanos(INACTIVE_THRESHOLD_MS),
    };
  }

  /**
   * At startup the consumer is made again at the position the replay reached: a previous process
   * of this replica left it wherever it stopped, and the state it acknowledged there is gone.
   */
  private async recreate(manager: Link['manager'], durable: string): Promise<ConsumerInfo> {
    try {
      await manager.consumers.delete(STREAM_NAME, durable);
    } catch (err) {
      if (!isApiError(err, CONSUMER_NOT_FOUND)) throw err;
    }
    return this.create(manager, durable);
  }

  private create(manager: Link['manager'], durable: string): Promise<ConsumerInfo> {
    this.caughtUp = false;
    this.expected = this.config(durable, this.sink.currentPosition);
    return manager.consumers.add(STREAM_NAME, this.expected);
  }

  /** After an interruption the consumer goes on where it was, or is made again if it is gone. */
  private async resume(manager: Link['manager'], durable: string): Promise<ConsumerInfo> {
    try {
      return await manager.consumers.info(STREAM_NAME, durable);
    } catch (err) {
      if (!isApiError(err, CONSUMER_NOT_FOUND)) throw err;
      this.options.logger.warn(
        { consumer: durable, position: this.sink.currentPosition },
        'the consumer was deleted: made again after the position the service has reached; not ready until it has caught up',
      );
      return this.create(manager, durable);
    }
  }

  private async handle(message: JsMsg): Promise<void> {
    const { deliverySequence, deliveryCount, pending } = message.info;
    // The engine's cursor: the consumer's deliveries are numbered, so the message right after the
    // last one applied, delivered for the first time, has nothing for this consumer before it.
    const cursor =
      deliveryCount === 1 && this.last && deliverySequence === this.last.consumerSeq + 1
        ? this.last.streamSeq
        : undefined;
    const raw = toRawEnvelope(fromJsMsg(message));
    const parsed = raw === undefined ? undefined : parseEnvelope(raw);
    if (!parsed?.success) {
      // Not an event of the catalog: it can never be applied. The engine's log reads skip it too.
      this.options.logger.error(
        { seq: message.seq, subject: message.subject },
        'skipping a message that is not an event',
      );
      message.term();
      this.last = undefined;
      return;
    }
    const { latencyMs, failing } = this.switches;
    if (latencyMs > 0) await delay(latencyMs);
    if (failing) {
      this.parked += 1;
      this.lastError = 'refused (fault switch)';
      this.last = undefined;
      this.options.logger.warn({ seq: message.seq, type: parsed.data.type }, 'the fault switch "fail" parks an event');
      message.term();
      return;
    }
    try {
      await this.sink.deliver([parsed.data], cursor);
      message.ack();
      // A redelivered event is older than the messages that went by since its first delivery (to this
      // process, or to another process of the same consumer): the next message does not follow on from it.
      this.last = deliveryCount === 1 ? { consumerSeq: deliverySequence, streamSeq: message.seq } : undefined;
      if (pending === 0) this.caughtUp = true;
    } catch (err) {
      this.last = undefined;
      this.lastError = describe(err);
      const { maxDeliver = MAX_DELIVER, redeliveryBackoffMs = REDELIVERY_BACKOFF_MS } = this.options;
      if (deliveryCount >= maxDeliver) {
        this.parked += 1;
        this.options.logger.error(
          { seq: message.seq, type: parsed.data.type, deliveries: deliveryCount, err: this.lastError },
          'parking an event the service could not apply',
        );
        message.term();
      } else {
        const wait = redeliveryBackoffMs[Math.min(deliveryCount, redeliveryBackoffMs.length) - 1] ?? 1000;
        this.options.logger.warn(
          { seq: message.seq, deliveries: deliveryCount, err: this.lastError, retryInMs: wait },
          'delivery failed; redelivering later',
        );
        message.nak(wait);
      }
    }
  }
}

/** A short reason, never a payload: a JetStream error's description, or an error's message. */
export function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The settings a consumer must keep as made, and those it must not have at all. */
const KEPT = [
  'durable_name',
  'ack_policy',
  'deliver_policy',
  'opt_start_seq',
  'ack_wait',
  'max_deliver',
  'max_ack_pending',
  'inactive_threshold',
] as const;
const ABSENT = [
  'filter_subject',
  'filter_subjects',
  'deliver_subject',
  'headers_only',
  'rate_limit_bps',
  'sample_freq',
  'backoff',
  'pause_until',
] as const;

/** What differs between the configuration made and the one found: `filter_subject: none -> blog.PostCreated.*`. */
export function configChanges(expected: Partial<ConsumerConfig>, info: ConsumerInfo): string[] {
  const actual = info.config as unknown as Record<string, unknown>;
  const wanted = expected as Record<string, unknown>;
  const show = (value: unknown) => (isUnset(value) ? 'none' : JSON.stringify(value));
  const changes = [
    ...KEPT.filter((field) => actual[field] !== wanted[field]).map(
      (field) => `${field}: ${show(wanted[field])} -> ${show(actual[field])}`,
    ),
    ...ABSENT.filter((field) => !isUnset(actual[field])).map((field) => `${field}: none -> ${show(actual[field])}`),
  ];
  if ((info as { paused?: boolean }).paused) changes.push('paused: false -> true');
  return changes;
}

function isUnset(value: unknown): boolean {
  return (
    value === undefined ||
    value === null ||
    value === '' ||
    value === false ||
    value === 0 ||
    (Array.isArray(value) && value.length === 0)
  );
}
