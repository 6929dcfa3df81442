import { PerKeyQueue } from '../src/per-key-queue';

/** A task the test finishes when it likes, and that records when it started. */
function gatedTask(started: string[], name: string) {
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  return {
    finish: () => finish(),
    task: async () => {
      started.push(name);
      await finished;
      return name;
    },
  };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('PerKeyQueue', () => {
  it('runs the tasks of one key one at a time, in arrival order', async () => {
    const queue = new PerKeyQueue(10);
    const started: string[] = [];
    const a = gatedTask(started, 'a');
    const b = gatedTask(started, 'b');

    const first = queue.run('post p1', a.task);
    const second = queue.run('post p1', b.task);
    await settle();
    expect(started).toEqual(['a']);

    a.finish();
    expect(await first).toBe('a');
    await settle();
    expect(started).toEqual(['a', 'b']);
    b.finish();
    expect(await second).toBe('b');
  });

  it('runs the tasks of different keys side by side', async () => {
    const queue = new PerKeyQueue(10);
    const started: string[] = [];
    const a = gatedTask(started, 'a');
    const b = gatedTask(started, 'b');

    const runs = [queue.run('post p1', a.task), queue.run('post p2', b.task)];
    await settle();

    expect(started).toEqual(['a', 'b']);
    a.finish();
    b.finish();
    await Promise.all(runs);
  });

  it('takes the tasks up to its bound for a key, answers one more 503 naming the key, and takes one again once a task is done', async () => {
    const queue = new PerKeyQueue(2);
    const started: string[] = [];
    const a = gatedTask(started, 'a');
    const b = gatedTask(started, 'b');
    const first = queue.run('post p1', a.task);
    const second = queue.run('post p1', b.task);

    expect(queue.size('post p1')).toBe(2);
    expect(() => queue.run('post p1', async () => 'c')).toThrow(
      expect.objectContaining({
        status: 503,
        message: 'post p1: 2 requests are already waiting for it; try again in a moment',
      }),
    );

    a.finish();
    await first;
    await settle();
    const third = queue.run('post p1', async () => 'c');
    b.finish();
    expect(await Promise.all([second, third])).toEqual(['b', 'c']);
  });

  it('runs the next task after one that failed, and forgets a key once its tasks are done', async () => {
    const queue = new PerKeyQueue(10);

    const failed = queue.run('post p1', async () => {
      throw new Error('publish failed');
    });
    const next = queue.run('post p1', async () => 'next');

    await expect(failed).rejects.toThrow('publish failed');
    expect(await next).toBe('next');
    await settle();
    expect(queue.busyKeys).toBe(0);
  });
});
