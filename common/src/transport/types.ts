import type { Envelope, EventType, NewEvent } from '../events';

/**
 * The shapes of the log every transport offers (see `transport.ts` for the seam itself): publishing,
 * reading pages, and the sink live delivery feeds. No transport's details here.
 */

export interface PublishResult {
  readonly id: string;
  readonly seq: number;
  readonly duplicate: boolean;
}

export interface PublishOptions {
  /**
   * Stores the event only if the newest stored event with the same `key` is at this seq (0: none
   * yet); otherwise the publish throws a `ConflictError` carrying the seq it is at. Needs `event.key`.
   */
  readonly expectedLastSeq?: number;
}

export interface LogPage {
  readonly events: readonly Envelope[];
  /** The last seq the log looked at: pass it as the next `after` (it moves past filtered-out events). */
  readonly next: number;
  /** The newest seq in the log when the page was read. */
  readonly head: number;
}

export interface ReadLogOptions {
  readonly after: number;
  readonly limit?: number;
  readonly types?: readonly EventType[];
}

/** Publishing to and reading the log: what a service's routes and the engine call. */
export interface BusClient {
  /**
   * Resolves once the event is durably in the log; the same `id` is never stored twice (a repeat
   * with the same data answers `duplicate: true`, one with other data throws `IdempotencyConflictError`).
   */
  publish(event: NewEvent, options?: PublishOptions): Promise<PublishResult>;
  /** All or nothing. */
  publishBatch(events: readonly NewEvent[]): Promise<readonly PublishResult[]>;
  /** One page of the log after `after`, in seq order; `head` says where the log ends now. */
  readLog(options: ReadLogOptions): Promise<LogPage>;
}

/**
 * What live delivery hands events to: the consumer engine. `deliver` resolves once the events are
 * applied (a transport acknowledges them then, not before) and rejects when they must be delivered
 * again later (`NotReadyError`, or the log could not be read) or never (`DeliveryRefusedError`).
 */
export interface DeliverySink {
  readonly name: string;
  readonly isReady: boolean;
  readonly currentPosition: number;
  /** Resolves once the startup replay has caught up: live delivery starts then. */
  whenReady(): Promise<void>;
  /** `cursor`: the transport's word that nothing for this subscriber lies between it and these events. */
  deliver(events: readonly Envelope[], cursor?: number): Promise<void>;
  /**
   * Reads the log up to its head and applies what this service has not: what a transport calls when
   * it knows it skipped events (those a fault switch refused), rather than wait for a later one.
   */
  syncToHead(): Promise<void>;
}
