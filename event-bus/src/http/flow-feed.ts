import type { EventMeta } from '@mini-blog/common/events';
import { EventStreams, type EventStream, type EventStreamLimits, type ProxyTrust } from '@mini-blog/common/service';
import type { Request, Response } from 'express';
import type { EventBus } from '../bus';

/** The view shows the tail of the log: from a large commit only the newest events are streamed. */
const MAX_APPENDED_PER_COMMIT = 100;

/**
 * The live event flow for the browser (`GET /flow/stream`): `appended` with each new event's
 * metadata, `delivered` when a subscriber's cursor moves, at most once per `throttleMs` per
 * subscriber. Never a payload.
 */
export class FlowFeed {
  /** A client too far behind is dropped by the streams' bound; it reconnects and reads the tail again. */
  private readonly streams: EventStreams;
  private readonly clients = new Set<EventStream>();
  private readonly moved = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    bus: EventBus,
    private readonly throttleMs = 250,
    limits?: EventStreamLimits,
    proxies?: ProxyTrust,
  ) {
    this.streams = new EventStreams(limits, proxies);
    bus.onAppended((events) => {
      if (this.clients.size === 0) return;
      for (const event of events.slice(-MAX_APPENDED_PER_COMMIT)) this.broadcast('appended', toMeta(event));
    });
    bus.fanOut.onProgress((subscriber, cursor) => {
      if (this.clients.size === 0) return;
      this.moved.set(subscriber, cursor);
      this.timer ??= setTimeout(() => this.flushDelivered(), this.throttleMs).unref();
    });
  }

  /** Opens a stream; a 503 beyond the streams' bound. */
  open(req: Request, res: Response): void {
    const stream = this.streams.accept(req, res, () => this.clients.delete(stream));
    this.clients.add(stream);
  }

  private flushDelivered(): void {
    this.timer = undefined;
    for (const [subscriber, cursor] of this.moved) this.broadcast('delivered', { subscriber, cursor });
    this.moved.clear();
  }

  private broadcast(event: string, data: unknown): void {
    const json = JSON.stringify(data);
    for (const stream of this.clients) stream.sendRaw(event, json);
  }
}

/** Only the metadata fields, whatever else the object carries. */
const toMeta = ({ seq, type, id, time, publisher, traceId }: EventMeta): EventMeta => ({
  seq,
  type,
  id,
  time,
  ...(publisher === undefined ? {} : { publisher }),
  ...(traceId === undefined ? {} : { traceId }),
});
