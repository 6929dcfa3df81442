import { EventEmitter } from 'node:events';
import type { Request, Response } from 'express';

/**
 * A request and a response whose socket the test controls: how many bytes it holds unsent, and
 * whether a write fills it (then `drain` is the test's to emit). For the bounds of long-lived
 * responses, where a real socket's kernel buffers make the exact moment a bound is reached depend
 * on the machine.
 */
export function fakeExchange(headers: Readonly<Record<string, string>> = {}) {
  const req = Object.assign(new EventEmitter(), { header: (name: string) => headers[name.toLowerCase()] });
  const written: string[] = [];
  const res = Object.assign(new EventEmitter(), {
    writableLength: 0,
    destroyed: false,
    /** While true, each write answers that the buffer is full. */
    full: false,
    status: () => res,
    set: () => res,
    flushHeaders: () => undefined,
    write: (text: string) => {
      written.push(text);
      return !res.full;
    },
    destroy: () => {
      res.destroyed = true;
      res.emit('close');
    },
  });
  return {
    req: req as unknown as Request,
    res,
    response: res as unknown as Response,
    written,
    /** The names of the SSE events written so far. */
    events: () => written.flatMap((text) => [...text.matchAll(/^event: (.+)$/gm)].map((match) => match[1]!)),
  };
}
