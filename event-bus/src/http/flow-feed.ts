import { openEventStream, type EventMeta, type EventStream } from '@mini-blog/common';
import type { Request, Response } from 'express';
import type { EventBus } from '../bus';

/** The view shows the tail of the log: from a large commit only the newest events are streamed. */
const MAX_APPENDED_PER_COMMIT = 100;
/** A client this far behind is dropped; it reconnects and reads the tail again, instead of growing our memory. */
const MAX_BUFFERED_BYTES = 1024 * 1024;

interface Client {
  readonly stream: EventStream;
  readonly res: Response;
}

/**
 * The live event flow for the browser (`GET /flow/stream`): `appended` with each new event's
 * metadata, `delivered` when a subscriber's cursor moves, at most once per `throttleMs` per
 * subscriber. Never a payload.
 */
export class FlowFeed {
  private readonly clients = new Set<Client>();
  private readonly moved = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    bus: EventBus,
    private readonly throttleMs = 250,
  ) {
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

  open(req: Request, res: Response): void {
    const client: Client = { res, stream: openEventStream(req, res, () => this.clients.delete(client)) };
    this.clients.add(client);
  }

  private flushDelivered(): void {
    this.timer = undefined;
    for (const [subscriber, cursor] of this.moved) this.broadcast('delivered', { subscriber, cursor });
    this.moved.clear();
  }

  private broadcast(event: string, data: unknown): void {
    for (const client of this.clients) {
      if (client.res.writableLength > MAX_BUFFERED_BYTES) {
        client.res.destroy();
        this.clients.delete(client);
      } else {
        client.stream.send(event, data);
      }
    }
  }
}

/** Only the metadata fields, whatever else the object carries. */
const toMeta = ({ seq, type, id, time }: EventMeta): EventMeta => ({ seq, type, id, time });
