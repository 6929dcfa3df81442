import type { Request, Response } from 'express';
import { z } from 'zod';
import { ProxyTrust } from './client-address';
import { AppError } from './errors';
import { writeChunk } from './write-chunk';

/**
 * The bounds of a process's server-sent-event streams. A client that stops reading would otherwise
 * hold every message sent to it in this process's memory: with a few such clients and a busy post,
 * enough to exceed a container's memory limit.
 */
export interface EventStreamLimits {
  /** Streams open at once in this process; the next one is answered 503. */
  readonly maxStreams: number;
  /**
   * Streams open at once for one client address (behind a trusted proxy, the address it forwards);
   * the next one is answered 429, so that one client cannot hold every stream.
   */
  readonly maxStreamsPerClient: number;
  /**
   * Bytes written to one stream that its client has not read yet (what Node holds for the socket).
   * A message that would take it past this drops the client instead: its browser reconnects with
   * `Last-Event-ID` and is sent what it missed, or told to read everything again.
   */
  readonly maxUnsentBytes: number;
  /**
   * A comment line this often keeps idle proxies from closing the stream, and finds a client that
   * has gone without closing (the write fails).
   */
  readonly heartbeatMs: number;
  /**
   * How long bytes may wait unsent, the client reading none of them, before it is dropped: a client
   * that stops reading holds its slot no longer than this once its socket's buffers are full.
   */
  readonly stallMs: number;
}

export const DEFAULT_STREAM_LIMITS: EventStreamLimits = {
  maxStreams: 100,
  maxStreamsPerClient: 8,
  maxUnsentBytes: 1024 * 1024,
  heartbeatMs: 15_000,
  stallMs: 30_000,
};

/** The env settings of `EventStreamLimits`, for a service's config schema. */
export const streamLimitsEnv = {
  STREAM_MAX_CLIENTS: z.coerce.number().int().positive().default(DEFAULT_STREAM_LIMITS.maxStreams),
  STREAM_MAX_PER_CLIENT: z.coerce.number().int().positive().default(DEFAULT_STREAM_LIMITS.maxStreamsPerClient),
  STREAM_MAX_UNSENT_BYTES: z.coerce.number().int().min(4096).default(DEFAULT_STREAM_LIMITS.maxUnsentBytes),
};

export function streamLimitsFrom(config: {
  STREAM_MAX_CLIENTS: number;
  STREAM_MAX_PER_CLIENT: number;
  STREAM_MAX_UNSENT_BYTES: number;
}): EventStreamLimits {
  return {
    ...DEFAULT_STREAM_LIMITS,
    maxStreams: config.STREAM_MAX_CLIENTS,
    maxStreamsPerClient: config.STREAM_MAX_PER_CLIENT,
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
  private readonly perClient = new Map<string, number>();

  constructor(
    readonly limits: EventStreamLimits = DEFAULT_STREAM_LIMITS,
    private readonly proxies: ProxyTrust = new ProxyTrust(),
  ) {}

  /** Streams open now. */
  get size(): number {
    return this.open;
  }

  /**
   * Opens a stream on `res`: no caching, no proxy buffering (nginx honours `X-Accel-Buffering`),
   * a heartbeat. Throws a 503 AppError when `maxStreams` are open, a 429 when its client has
   * `maxStreamsPerClient` open. `onClose` runs once, when the client leaves or is dropped.
   */
  accept(req: Request, res: Response, onClose: () => void = () => undefined): EventStream {
    const { maxStreams, maxStreamsPerClient, maxUnsentBytes, heartbeatMs, stallMs } = this.limits;
    const client = this.proxies.clientOf(req);
    if ((this.perClient.get(client) ?? 0) >= maxStreamsPerClient) {
      res.set('retry-after', '10');
      throw new AppError(
        429,
        `stream: ${client} already has ${maxStreamsPerClient} live streams open here, the most one client may; close one or try again later`,
      );
    }
    if (this.open >= maxStreams) {
      res.set('retry-after', '10');
      throw new AppError(
        503,
        `stream: this instance already serves ${maxStreams} live streams, the most it serves at once; try again later`,
      );
    }
    this.open += 1;
    this.perClient.set(client, (this.perClient.get(client) ?? 0) + 1);
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
      const left = (this.perClient.get(client) ?? 1) - 1;
      if (left > 0) this.perClient.set(client, left);
      else this.perClient.delete(client);
      clearInterval(heartbeat);
      clearInterval(stallCheck);
      onClose();
    };
    const drop = () => {
      close();
      res.destroy();
    };
    // A message that does not fit drops the client, except as the only one waiting: a message
    // larger than the bound still reaches a client that keeps up.
    const write = (text: string): boolean => {
      if (closed) return false;
      const unsent = res.writableLength;
      if (unsent > 0 && unsent + Buffer.byteLength(text) > maxUnsentBytes) {
        drop();
        return false;
      }
      res.write(text);
      return true;
    };
    const heartbeat = setInterval(() => write(': keep-alive\n\n'), heartbeatMs);
    heartbeat.unref();
    // Unsent bytes that do not shrink for stallMs: the client has stopped reading.
    let waiting = { unsent: 0, since: Date.now() };
    const stallCheck = setInterval(
      () => {
        const unsent = res.writableLength;
        if (unsent === 0 || unsent < waiting.unsent) waiting = { unsent, since: Date.now() };
        else if (Date.now() - waiting.since >= stallMs) drop();
        else waiting.unsent = unsent;
      },
      Math.max(10, Math.min(1000, stallMs / 4)),
    );
    stallCheck.unref();
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
