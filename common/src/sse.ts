import type { Request, Response } from 'express';
import { z } from 'zod';
import { AppError } from './service/errors';
import { writeChunk } from './service/write-chunk';

/**
 * The bounds of a process's server-sent-event streams. A client that stops reading would otherwise
 * hold every message sent to it in this process's memory: with a few such clients and a busy post,
 * enough to exceed a container's memory limit.
 */
export interface EventStreamLimits {
  /** Streams open at once in this process; the next one is answered 503. */
  readonly maxStreams: number;
  /**
   * Bytes written to one stream that its client has not read yet (what Node holds for the socket).
   * A message that would take it past this drops the client instead: its browser reconnects with
   * `Last-Event-ID` and is sent what it missed, or told to read everything again.
   */
  readonly maxUnsentBytes: number;
  /** A comment line this often keeps idle proxies from closing the stream. */
  readonly heartbeatMs: number;
}

export const DEFAULT_STREAM_LIMITS: EventStreamLimits = {
  maxStreams: 100,
  maxUnsentBytes: 1024 * 1024,
  heartbeatMs: 15_000,
};

/** The env settings of `EventStreamLimits`, for a service's config schema. */
export const streamLimitsEnv = {
  STREAM_MAX_CLIENTS: z.coerce.number().int().positive().default(DEFAULT_STREAM_LIMITS.maxStreams),
  STREAM_MAX_UNSENT_BYTES: z.coerce.number().int().min(4096).default(DEFAULT_STREAM_LIMITS.maxUnsentBytes),
};

export function streamLimitsFrom(config: {
  STREAM_MAX_CLIENTS: number;
  STREAM_MAX_UNSENT_BYTES: number;
}): EventStreamLimits {
  return {
    ...DEFAULT_STREAM_LIMITS,
    maxStreams: config.STREAM_MAX_CLIENTS,
    maxUnsentBytes: config.STREAM_MAX_UNSENT_BYTES,
  };
}

export interface EventStream {
  /** Sends a message; false if the stream is closed, or was just closed because its client is too far behind. */
  send(event: string, data: unknown, id?: number | string): boolean;
  /** Sends data already serialised as JSON (one serialisation for many clients). */
  sendRaw(event: string, json: string, id?: number | string): boolean;
  /**
   * Sends a message, waiting first, while the socket's buffer is full, for the client to read it:
   * for a replay, which may be larger than the bound, so it is paced rather than checked. False
   * once the stream is closed.
   */
  sendPaced(event: string, json: string, id?: number | string): Promise<boolean>;
  readonly closed: boolean;
}

const frame = (event: string, json: string, id: number | string | undefined) =>
  `${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${json}\n\n`;

/**
 * The `Last-Event-ID` a reconnecting browser sends, when it is a log position (a whole number
 * from 0); undefined for a first connection or anything else.
 */
export function lastEventId(req: Request): number | undefined {
  const header = req.header('last-event-id')?.trim();
  if (header === undefined || !/^\d{1,16}$/.test(header)) return undefined;
  const value = Number(header);
  return Number.isSafeInteger(value) ? value : undefined;
}

/** Opens server-sent-event streams within one process's `EventStreamLimits`. */
export class EventStreams {
  private open = 0;

  constructor(readonly limits: EventStreamLimits = DEFAULT_STREAM_LIMITS) {}

  /** Streams open now. */
  get size(): number {
    return this.open;
  }

  /**
   * Opens a stream on `res`: no caching, no proxy buffering (nginx honours `X-Accel-Buffering`),
   * a heartbeat. Throws a 503 AppError when `maxStreams` are open. `onClose` runs once, when the
   * client leaves or is dropped.
   */
  accept(req: Request, res: Response, onClose: () => void = () => undefined): EventStream {
    const { maxStreams, maxUnsentBytes, heartbeatMs } = this.limits;
    if (this.open >= maxStreams) {
      res.set('retry-after', '10');
      throw new AppError(
        503,
        `stream: this instance already serves ${maxStreams} live streams, the most it serves at once; try again later`,
      );
    }
    this.open += 1;
    res.status(200).set({
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.flushHeaders();
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      this.open -= 1;
      clearInterval(heartbeat);
      onClose();
    };
    // A message that does not fit drops the client, except as the only one waiting: a message
    // larger than the bound still reaches a client that keeps up.
    const write = (text: string): boolean => {
      if (closed) return false;
      const unsent = res.writableLength;
      if (unsent > 0 && unsent + Buffer.byteLength(text) > maxUnsentBytes) {
        close();
        res.destroy();
        return false;
      }
      res.write(text);
      return true;
    };
    const heartbeat = setInterval(() => write(': keep-alive\n\n'), heartbeatMs);
    heartbeat.unref();
    req.on('close', close);
    res.on('close', close);
    write('retry: 2000\n\n');
    return {
      get closed() {
        return closed;
      },
      send(event, data, id) {
        return write(frame(event, JSON.stringify(data), id));
      },
      sendRaw(event, json, id) {
        return write(frame(event, json, id));
      },
      async sendPaced(event, json, id) {
        return !closed && (await writeChunk(res, frame(event, json, id)));
      },
    };
  }
}
