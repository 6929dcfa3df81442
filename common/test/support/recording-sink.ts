import type { Envelope } from '../../src/events';
import type { DeliverySink } from '../../src/transport/types';

/** A stand-in for the consumer engine: applies in order what it is given, can be told to fail. */
export class RecordingSink implements DeliverySink {
  readonly applied: Envelope[] = [];
  readonly cursors: (number | undefined)[] = [];
  failures = new Map<number, number>();
  currentPosition = 0;
  isReady = false;
  private markReady: () => void = () => undefined;
  private readonly ready = new Promise<void>((resolve) => {
    this.markReady = resolve;
  });

  constructor(readonly name: string) {}

  caughtUpAt(position: number): void {
    this.currentPosition = position;
    this.isReady = true;
    this.markReady();
  }

  whenReady(): Promise<void> {
    return this.ready;
  }

  /** A stand-in has no log to read: counted, for tests of who asks for it. */
  syncs = 0;
  async syncToHead(): Promise<void> {
    this.syncs += 1;
  }

  async deliver(events: readonly Envelope[], cursor?: number): Promise<void> {
    for (const event of events) {
      const left = this.failures.get(event.seq) ?? 0;
      if (left > 0) {
        this.failures.set(event.seq, left - 1);
        throw new Error(`cannot apply ${event.seq}`);
      }
    }
    this.cursors.push(cursor);
    for (const event of events) {
      if (event.seq <= this.currentPosition) continue;
      this.applied.push(event);
      this.currentPosition = event.seq;
    }
  }
}
