/**
 * What a transport throws, in the terms of the log, not of any protocol: a service's HTTP layer
 * gives each one its status (`service/errors.ts`), a transport over HTTP reads them from the bus's.
 */

/**
 * The log could not be reached or kept failing: the caller's request may be retried later. When a
 * publish went out and no answer came back (the connection dropped, a timeout), the log may have
 * stored it before it stopped answering, and the message must not promise otherwise.
 */
export class BusUnavailableError extends Error {
  constructor(
    cause: string,
    readonly mayBeStored = false,
  ) {
    super(
      mayBeStored
        ? `event-bus: unavailable (${cause}); it may have been stored before the bus stopped answering: a retry with the same Idempotency-Key header stores it at most once`
        : `event-bus: unavailable (${cause}); nothing was stored, try again`,
    );
    this.name = 'BusUnavailableError';
  }
}

/**
 * A conditional publish found the key's newest event elsewhere than expected: nothing was stored.
 * `lastSeq` is where it is now (0: no event with that key), to read up to before deciding again.
 */
export class ConflictError extends Error {
  constructor(
    readonly key: string,
    readonly lastSeq: number,
  ) {
    super(`expectedLastSeq: the last event of ${key} is at ${lastSeq}`);
    this.name = 'ConflictError';
  }
}

/**
 * The event's id is stored with another type or other data: a client reused its Idempotency-Key
 * for a different request. Nothing was stored; the first event stands. A service names its own
 * request header in the message it answers with.
 */
export class IdempotencyConflictError extends Error {
  constructor(readonly id: string) {
    super(`id: ${id} is stored with other data`);
    this.name = 'IdempotencyConflictError';
  }
}

/** The engine is still replaying the log: deliver again later. */
export class NotReadyError extends Error {
  override name = 'NotReadyError';
}

/**
 * A delivery the engine will not apply, ever: it claims a position the log cannot show (a seq or a
 * cursor past the log's head). Applying it would move the position past events still to come, and
 * they would be dropped as duplicates.
 */
export class DeliveryRefusedError extends Error {
  override name = 'DeliveryRefusedError';

  constructor(
    /** What the delivery claimed: an event's seq, or the transport's cursor. */
    readonly field: 'seq' | 'cursor',
    /** The rule it breaks, without the field. */
    readonly rule: string,
  ) {
    super(`${field}: ${rule}`);
  }
}
