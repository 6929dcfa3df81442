import { randomUUID } from 'node:crypto';
import type { BusClient, LogPage, PublishResult, ReadLogOptions } from '../bus-client';
import type { Envelope, NewEvent } from '../events';

/**
 * An in-memory log with the bus's publish and read semantics (ids deduplicated, seq from 1 without
 * gaps, filtered pages whose `next` moves past the events left out). For unit tests of services and
 * of the consumer runtime; the real bus is tested against the same contract.
 */
export class MemoryBus implements BusClient {
  readonly log: Envelope[] = [];
  private readonly seqById = new Map<string, number>();
  /** When set, publish calls fail with this error (to test the unavailable-bus paths). */
  failWith: Error | undefined;

  async publish(event: NewEvent): Promise<PublishResult> {
    if (this.failWith) throw this.failWith;
    return this.append(event);
  }

  async publishBatch(events: readonly NewEvent[]): Promise<readonly PublishResult[]> {
    if (this.failWith) throw this.failWith;
    return events.map((event) => this.append(event));
  }

  async readLog({ after, limit = 1000, types }: ReadLogOptions): Promise<LogPage> {
    const wanted = types ? new Set<string>(types) : undefined;
    const events: Envelope[] = [];
    let next = after;
    for (const event of this.log.slice(after)) {
      if (events.length >= limit) break;
      next = event.seq;
      if (!wanted || wanted.has(event.type)) events.push(event);
    }
    return { events, next: events.length < limit ? this.head : next, head: this.head };
  }

  get head(): number {
    return this.log.length;
  }

  /** The stored events of one type, in order. */
  ofType<T extends Envelope['type']>(type: T): Extract<Envelope, { type: T }>[] {
    return this.log.filter((event): event is Extract<Envelope, { type: T }> => event.type === type);
  }

  private append(event: NewEvent): PublishResult {
    const id = event.id ?? randomUUID();
    const known = this.seqById.get(id);
    if (known !== undefined) return { id, seq: known, duplicate: true };
    const seq = this.log.length + 1;
    this.log.push({ id, seq, type: event.type, data: event.data, time: new Date().toISOString() } as Envelope);
    this.seqById.set(id, seq);
    return { id, seq, duplicate: false };
  }
}
