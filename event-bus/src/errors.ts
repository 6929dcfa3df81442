/**
 * What the log and the deliveries refuse, in their own terms; the HTTP side (http/errors.ts) turns
 * each into a status and a message. A conditional publish whose key has moved on and an id published
 * again with other data are the seam's own errors (`ConflictError`, `IdempotencyConflictError` from
 * `@mini-blog/common/transport`): every transport throws them, the bus's log included.
 */
export class UnknownSubscriberError extends Error {
  constructor(readonly subscriber: string) {
    super(`subscriber: ${subscriber} is not configured`);
    this.name = 'UnknownSubscriberError';
  }
}

export class NotParkedError extends Error {
  constructor(
    readonly subscriber: string,
    readonly seq: number,
  ) {
    super(`seq: ${seq} is not parked for ${subscriber}`);
    this.name = 'NotParkedError';
  }
}

/** A commit failed: nothing of it was stored, and the same request may succeed later. */
export class LogUnavailableError extends Error {
  constructor(readonly reason: string) {
    super(`event-bus: the log could not be written (${reason}); nothing was stored, try again`);
    this.name = 'LogUnavailableError';
  }
}
