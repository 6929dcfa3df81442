import type { NewEvent } from '../src/events';
import { MemoryBus } from '../src/testing';
import { ConflictError, IdempotencyConflictError } from '../src/transport';

const post = (id: string): NewEvent => ({ type: 'PostCreated', data: { id, title: id }, id: `PostCreated:${id}` });
const comment = (id: string): NewEvent => ({
  type: 'CommentCreated',
  data: { id, postId: 'p1', content: 'x', status: 'pending' },
  id: `CommentCreated:${id}`,
});

/** A log of post 1, comment 2, comment 3, post 4, comment 5. */
async function mixedLog(): Promise<MemoryBus> {
  const bus = new MemoryBus();
  await bus.publishBatch([post('p1'), comment('c1'), comment('c2'), post('p2'), comment('c3')]);
  return bus;
}

// The test double that service tests rely on must keep the bus contract of docs/architecture.md.
describe('MemoryBus', () => {
  describe('publish', () => {
    it('stores events with seq 1, 2, 3 and the time', async () => {
      const bus = new MemoryBus();

      const results = [await bus.publish(post('p1')), await bus.publish(post('p2'))];

      expect(results).toEqual([
        { id: 'PostCreated:p1', seq: 1, duplicate: false },
        { id: 'PostCreated:p2', seq: 2, duplicate: false },
      ]);
      expect(bus.log[1]).toEqual({
        id: 'PostCreated:p2',
        seq: 2,
        type: 'PostCreated',
        data: { id: 'p2', title: 'p2' },
        time: expect.any(String),
      });
      expect(bus.head).toBe(2);
    });

    it('stores a re-sent id once and answers with the original seq', async () => {
      const bus = new MemoryBus();
      await bus.publish(post('p1'));
      await bus.publish(post('p2'));

      const again = await bus.publish(post('p1'));

      expect(again).toEqual({ id: 'PostCreated:p1', seq: 1, duplicate: true });
      expect(bus.log).toHaveLength(2);
    });

    it('refuses an id stored before with other data, keeping the first', async () => {
      const bus = new MemoryBus();
      await bus.publish(post('p1'));
      const other: NewEvent = { type: 'PostCreated', id: 'PostCreated:p1', data: { id: 'p1', title: 'Other' } };

      await expect(bus.publish(other)).rejects.toThrow(IdempotencyConflictError);
      await expect(bus.publishBatch([post('p2'), other])).rejects.toThrow(
        'id: PostCreated:p1 is stored with other data',
      );
      expect(bus.log.map((event) => event.data)).toEqual([{ id: 'p1', title: 'p1' }]);
    });

    it('gives an event without an id a unique one', async () => {
      const bus = new MemoryBus();
      const bare: NewEvent = { type: 'PostCreated', data: { id: 'p1', title: 't' } };

      const [first, second] = [await bus.publish(bare), await bus.publish(bare)];

      expect(first?.id).not.toBe(second?.id);
      expect(bus.head).toBe(2);
    });

    it('fails every publish while failWith is set', async () => {
      const bus = new MemoryBus();
      bus.failWith = new Error('bus down');

      await expect(bus.publish(post('p1'))).rejects.toThrow('bus down');
      expect(bus.log).toEqual([]);
    });
  });

  describe('readLog', () => {
    it('returns the events after a seq in order, with next the last seq scanned and head the newest', async () => {
      const bus = await mixedLog();

      const page = await bus.readLog({ after: 1, limit: 2 });

      expect(page.events.map((event) => event.seq)).toEqual([2, 3]);
      expect(page).toMatchObject({ next: 3, head: 5 });
    });

    it('ends with next at the head on the last page', async () => {
      const bus = await mixedLog();

      const page = await bus.readLog({ after: 3, limit: 10 });

      expect(page.events.map((event) => event.seq)).toEqual([4, 5]);
      expect(page.next).toBe(5);
    });

    it('leaves out other types, and next moves past them', async () => {
      const bus = await mixedLog();

      const first = await bus.readLog({ after: 0, limit: 1, types: ['PostCreated'] });
      const second = await bus.readLog({ after: first.next, limit: 1, types: ['PostCreated'] });
      const third = await bus.readLog({ after: second.next, limit: 1, types: ['PostCreated'] });

      expect([first, second, third].map((page) => page.events.map((event) => event.seq))).toEqual([[1], [4], []]);
      expect([first.next, second.next, third.next]).toEqual([1, 4, 5]);
    });

    it('answers an empty page at the head', async () => {
      const bus = await mixedLog();

      expect(await bus.readLog({ after: 5 })).toEqual({ events: [], next: 5, head: 5 });
    });

    it('lists the stored events of one type', async () => {
      const bus = await mixedLog();

      expect(bus.ofType('PostCreated').map((event) => event.data.id)).toEqual(['p1', 'p2']);
    });
  });

  describe('conditional publish', () => {
    const keyed = (id: string): NewEvent => ({ ...comment(id), key: 'comments:p1' });

    it('stores an event whose key is where the publisher expects it, with the key', async () => {
      const bus = new MemoryBus();

      await bus.publish(keyed('c1'), { expectedLastSeq: 0 });
      await bus.publish(post('p9'));
      const second = await bus.publish(keyed('c2'), { expectedLastSeq: 1 });

      expect(second.seq).toBe(3);
      expect(bus.log[2]).toMatchObject({ id: 'CommentCreated:c2', key: 'comments:p1' });
    });

    it('refuses one whose key has moved on, with the seq it is at, storing nothing', async () => {
      const bus = new MemoryBus();
      await bus.publish(keyed('c1'), { expectedLastSeq: 0 });

      const error = await bus.publish(keyed('c2'), { expectedLastSeq: 0 }).catch((err: unknown) => err);

      expect(error).toBeInstanceOf(ConflictError);
      expect(error).toMatchObject({ key: 'comments:p1', lastSeq: 1 });
      expect(bus.head).toBe(1);
    });

    it('answers a repeated id as a duplicate before checking the key', async () => {
      const bus = new MemoryBus();
      await bus.publish(keyed('c1'), { expectedLastSeq: 0 });

      await expect(bus.publish(keyed('c1'), { expectedLastSeq: 0 })).resolves.toEqual({
        id: 'CommentCreated:c1',
        seq: 1,
        duplicate: true,
      });
    });
  });
});
