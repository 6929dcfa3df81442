/**
 * What the log and the deliveries refuse, in their own terms; the HTTP side (http/errors.ts) turns
 * each into a status and a message.
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

/** A conditional publish whose key has moved on: the newest stored event with the key is at `lastSeq`. */
export class ExpectedLastSeqError extends Error {
  constructor(
    readonly key: string,
    readonly lastSeq: number,
  ) {
    super(`expectedLastSeq: the last event of ${key} is at ${lastSeq}`);
    this.name = 'ExpectedLastSeqError';
  }
}

/** An id published again with another type or data: the first event stays as it is. */
export class IdConflictError extends Error {
  constructor(readonly id: string) {
    super(`id: ${id} is stored with other data`);
    this.name = 'IdConflictError';
  }
}
