import type { Request, Response } from 'express';

export interface EventStream {
  send(event: string, data: unknown, id?: number | string): void;
  /** Sends data already serialised as JSON (one serialisation for many clients). */
  sendRaw(event: string, json: string, id?: number | string): void;
  readonly closed: boolean;
}

/**
 * Opens a server-sent-events response: no caching, no proxy buffering (nginx honours
 * `X-Accel-Buffering`), and a comment line every `heartbeatMs` so idle proxies keep it open.
 */
export function openEventStream(req: Request, res: Response, onClose: () => void, heartbeatMs = 15_000): EventStream {
  res.status(200).set({
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.flushHeaders();
  res.write('retry: 2000\n\n');
  let closed = false;
  const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), heartbeatMs);
  heartbeat.unref();
  req.on('close', () => {
    closed = true;
    clearInterval(heartbeat);
    onClose();
  });
  return {
    get closed() {
      return closed;
    },
    send(event, data, id) {
      this.sendRaw(event, JSON.stringify(data), id);
    },
    sendRaw(event, json, id) {
      if (closed) return;
      res.write(`${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${json}\n\n`);
    },
  };
}
