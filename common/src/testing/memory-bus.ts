import { isDeepStrictEqual } from 'node:util';
import { randomUUID } from 'node:crypto';
import type { Envelope, NewEvent } from '../events';
import { ConflictError, IdempotencyConflictError } from '../transport/errors';
import { httpLiveDelivery, type DeliveryRouterOptions } from '../transport/http/delivery-router';
import type { EventTransport, LiveDelivery } from '../transport/transport';
import type { DeliverySink, LogPage, PublishOptions, PublishResult, ReadLogOptions } from '../transport/types';

export interface MemoryBusOptions {
  /** The secrets deliveries must be signed with; unsigned deliveries are accepted by default. */
  readonly deliverySecrets?: DeliveryRouterOptions['secrets'];
}

/**
 * An in-memory log with the bus's publish and read semantics (ids deduplicated, a reused id with
 * other data refused, conditional publishes by key, seq from 1 without gaps, filtered pages whose
 * `next` moves past the events left out), and the HTTP transport's delivery route. For unit tests
 * of services and of the consumer engine; the real bus is tested against the same contract.
 */
export class MemoryBus implements EventTransport {
  readonly log: Envelope[] = [];
  private readonly seqById = new Map<string, number>();
  private readonly lastSeqByKey = new Map<string, number>();
  /** When set, publish calls fail with this error (to test the unavailable-bus paths). */
  failWith: Error | undefined;

  constructor(private readonly options: MemoryBusOptions = {}) {}

  async publish(event: NewEvent, { expectedLastSeq }: PublishOptions = {}): Promise<PublishResult> {
    if (this.failWith) throw this.failWith;
    if (expectedLastSeq !== undefined) {
      if (event.key === undefined) throw new TypeError('publish: expectedLastSeq needs the event to have a key');
      const known = event.id === undefined ? undefined : this.seqById.get(event.id);
      const lastSeq = this.lastSeqByKey.get(event.key) ?? 0;
      if (known === undefined && lastSeq !== expectedLastSeq) throw new ConflictError(event.key, lastSeq);
    }
    return this.append(event);
  }

  async publishBatch(events: readonly NewEvent[]): Promise<readonly PublishResult[]> {
    if (this.failWith) throw this.failWith;
    for (const event of events) this.checkReuse(event);
    return events.map((event) => this.append(event));
  }

  connect(sink: DeliverySink): LiveDelivery {
    return httpLiveDelivery(sink, { secrets: this.options.deliverySecrets ?? 'unsigned' });
  }

  isReady(): boolean {
    return true;
  }

  async close(): Promise<void> {}

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

  /** An id stored before must come with the same type and data (a retry), as the bus checks. */
  private checkReuse(event: NewEvent): void {
    const known = event.id === undefined ? undefined : this.seqById.get(event.id);
    if (known === undefined) return;
    const stored = this.log[known - 1]!;
    if (stored.type !== event.type || !isDeepStrictEqual(stored.data, event.data))
      throw new IdempotencyConflictError(event.id!);
  }

  private append(event: NewEvent): PublishResult {
    this.checkReuse(event);
    const id = event.id ?? randomUUID();
    const known = this.seqById.get(id);
    if (known !== undefined) return { id, seq: known, duplicate: true };
    const seq = this.log.length + 1;
    const { key, traceparent } = event;
    this.log.push({
      id,
      seq,
      type: event.type,
      data: event.data,
      time: new Date().toISOString(),
      ...(key === undefined ? {} : { key }),
      ...(traceparent === undefined ? {} : { traceparent }),
    } as Envelope);
    this.seqById.set(id, seq);
    if (key !== undefined) this.lastSeqByKey.set(key, seq);
    return { id, seq, duplicate: false };
  }
}

/** A MemoryBus that records what it is asked to read: a restarted service's first read says where it started. */
export class RecordingBus extends MemoryBus {
  readonly reads: ReadLogOptions[] = [];

  override async readLog(options: ReadLogOptions): Promise<LogPage> {
    this.reads.push(options);
    return super.readLog(options);
  }
}

/** A service made by `create` on a MemoryBus that already holds `events`, and caught up with them. */
export async function startOnMemoryBus<S extends { readonly consumer: { start(): Promise<void> } }>(
  create: (bus: MemoryBus) => S,
  events: readonly NewEvent[] = [],
): Promise<S & { readonly bus: MemoryBus }> {
  const bus = new MemoryBus();
  for (const event of events) await bus.publish(event);
  const service = create(bus);
  await service.consumer.start();
  return { bus, ...service };
}
