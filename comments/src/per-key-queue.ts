import { AppError } from '@mini-blog/common/service';

/**
 * Runs tasks one at a time per key (a post), in arrival order, with at most `maxQueued` waiting
 * or running per key: beyond that a 503, rather than a queue that grows with the requests.
 */
export class PerKeyQueue {
  private readonly queues = new Map<string, { tail: Promise<unknown>; size: number }>();

  constructor(private readonly maxQueued: number) {}

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const queue = this.queues.get(key) ?? { tail: Promise.resolve(), size: 0 };
    if (queue.size >= this.maxQueued) {
      throw new AppError(503, `${key}: ${this.maxQueued} requests are already waiting for it; try again in a moment`);
    }
    queue.size += 1;
    this.queues.set(key, queue);
    const result = queue.tail.then(task);
    queue.tail = result.then(
      () => this.leave(key, queue),
      () => this.leave(key, queue),
    );
    return result;
  }

  /** Keys with a task waiting or running. */
  get busyKeys(): number {
    return this.queues.size;
  }

  /** Tasks waiting or running for the key. */
  size(key: string): number {
    return this.queues.get(key)?.size ?? 0;
  }

  private leave(key: string, queue: { size: number }): void {
    queue.size -= 1;
    if (queue.size === 0) this.queues.delete(key);
  }
}
