import type { Response } from 'express';

/**
 * Writes one chunk of a long answer, waiting for the socket to drain when its buffer is full, so
 * that an answer of any size is sent in constant memory. Resolves false once the client has gone:
 * the writer stops there, rather than waiting forever for a drain that will not come.
 */
export async function writeChunk(res: Response, chunk: string): Promise<boolean> {
  if (res.destroyed) return false;
  if (res.write(chunk)) return true;
  return new Promise((resolve) => {
    const done = (drained: boolean) => {
      res.off('drain', onDrain);
      res.off('close', onClose);
      resolve(drained);
    };
    const onDrain = () => done(true);
    const onClose = () => done(false);
    res.on('drain', onDrain);
    res.on('close', onClose);
  });
}
