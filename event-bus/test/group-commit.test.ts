import path from 'node:path';
import { silentLogger } from '@mini-blog/common/service';
import { waitFor } from '@mini-blog/common/testing';
import { LogUnavailableError } from '../src/errors';
import { BusMetrics } from '../src/metrics';
import { GroupCommitter } from '../src/log/group-commit';
import type { PendingEvent } from '../src/log/log-writer';
import { EventStore } from '../src/log/store';
import { InlineWriter } from '../src/log/writer';
import { deferred, openTestBus, postCreated, tempDir } from './helpers';

const event = (id: string): PendingEvent => ({ id, type: 'PostCreated', dataJson: JSON.stringify({ id, title: id }) });

describe('group commit', () => {
  const dir = tempDir();
  let store: EventStore;
  let writer: InlineWriter;
  let stores = 0;
  beforeEach(() => {
    stores += 1;
    const dataDir = path.join(dir.path, `store-${stores}`);
    store = new EventStore(dataDir);
    writer = new InlineWriter(dataDir);
  });
  afterEach(async () => {
    await writer.close();
    store.close();
  });
  const committerWith = (onAppended: ConstructorParameters<typeof GroupCommitter>[4] = () => undefined) =>
    new GroupCommitter(store, writer, new BusMetrics(), silentLogger(), onAppended);
  afterAll(() => dir.remove());

  it('stores every publish of one event-loop turn in one transaction, and resolves only after it', async () => {
    const write = jest.spyOn(writer, 'write');
    const committer = committerWith();
    let resolved = 0;

    const publishes = Array.from({ length: 50 }, (_, n) =>
      committer.publish([event(`e${n}`)]).then((results) => ((resolved += 1), results)),
    );
    expect(resolved).toBe(0);
    expect(store.head).toBe(0);
    const results = await Promise.all(publishes);

    expect(write).toHaveBeenCalledTimes(1);
    expect(write.mock.calls[0]![0].ids).toHaveLength(50);
    expect(results.map(([result]) => result!.seq)).toEqual(Array.from({ length: 50 }, (_, n) => n + 1));
  });

  it('gathers everything that arrives during a commit into the next one', async () => {
    const write = writer.write.bind(writer);
    const firstWrite = deferred();
    const releaseFirstWrite = deferred();
    const writes = jest.spyOn(writer, 'write').mockImplementation(async (request) => {
      if (writes.mock.calls.length === 1) {
        firstWrite.resolve();
        await releaseFirstWrite.promise;
      }
      return write(request);
    });
    const committer = committerWith();

    const first = committer.publish([event('a')]);
    await firstWrite.promise;
    const later = [
      committer.publish([event('b')]),
      committer.saveCursors(new Map([['s', { cursor: 1, acked: 1 }]])),
      committer.publish([event('c')]),
    ];
    releaseFirstWrite.resolve();
    await Promise.all([first, ...later]);

    expect(writes.mock.calls.map(([request]) => [request.ids, request.cursors])).toEqual([
      [['a'], []],
      [['b', 'c'], [['s', 1, 1]]],
    ]);
    expect(store.loadCursors().get('s')).toEqual({ cursor: 1, acked: 1 });
  });

  it('keeps a batch whole and in order inside a shared transaction', async () => {
    const committer = committerWith();

    const [single, batch] = await Promise.all([
      committer.publish([event('a')]),
      committer.publish([event('b'), event('c'), event('a')]),
    ]);

    expect(single).toEqual([{ id: 'a', seq: 1, duplicate: false }]);
    expect(batch).toEqual([
      { id: 'b', seq: 2, duplicate: false },
      { id: 'c', seq: 3, duplicate: false },
      { id: 'a', seq: 1, duplicate: true },
    ]);
  });

  it('reports the new events, without duplicates, once committed', async () => {
    const appended: number[][] = [];
    const committer = committerWith((events) => appended.push(events.map((meta) => meta.seq)));

    await Promise.all([committer.publish([event('a')]), committer.publish([event('a'), event('b')])]);

    expect(appended).toEqual([[1, 2]]);
  });

  it('fails every publish of the transaction with 503 when the commit fails, storing none of them', async () => {
    const committer = committerWith();
    // A NOT NULL violation in the second group, after the first group's row is written.
    const broken = { id: 'b', type: null, dataJson: '{}' } as unknown as PendingEvent;

    const outcomes = await Promise.allSettled([committer.publish([event('a')]), committer.publish([broken])]);

    expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected']);
    expect((outcomes[0] as PromiseRejectedResult).reason).toBeInstanceOf(LogUnavailableError);
    expect((outcomes[0] as PromiseRejectedResult).reason).toMatchObject({
      message: expect.stringContaining('nothing was stored'),
    });
    expect(store.head).toBe(0);
    expect(store.read(0, 10, null, Number.MAX_SAFE_INTEGER)).toEqual([]);
    expect(await committer.publish([event('a')])).toEqual([{ id: 'a', seq: 1, duplicate: false }]);
  });

  it('forgets the last seq a failed commit gave a key', async () => {
    const committer = committerWith();
    const broken = { id: 'b', type: null, dataJson: '{}' } as unknown as PendingEvent;

    const outcomes = await Promise.allSettled([
      committer.publish([{ ...event('a'), key: 'k', expectedLastSeq: 0 }]),
      committer.publish([broken]),
    ]);

    expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected']);
    expect(await committer.publish([{ ...event('a'), key: 'k', expectedLastSeq: 0 }])).toEqual([
      { id: 'a', seq: 1, duplicate: false },
    ]);
  });

  it('is not writable after a failed commit, probes the disk, and is writable again once a probe succeeds', async () => {
    const write = writer.write.bind(writer);
    let diskWorks = false;
    const writes = jest
      .spyOn(writer, 'write')
      .mockImplementation(async (request) => (diskWorks ? write(request) : { ok: false, error: 'disk I/O error' }));
    const committer = committerWith();

    await expect(committer.publish([event('refused')])).rejects.toBeInstanceOf(LogUnavailableError);
    expect(committer.writeFailure).toEqual({ error: 'disk I/O error', since: expect.any(String) });

    diskWorks = true;
    await waitFor(() => committer.writeFailure === undefined, 'a probe write to succeed', { timeoutMs: 5000 });

    expect(writes.mock.calls.some(([request]) => request.probe === true && request.ids.length === 0)).toBe(true);
    expect(store.head).toBe(0);
    committer.stopProbing();
  });
});

describe('POST /events under concurrency', () => {
  it('answers 50 concurrent publishes with distinct, gap-free seqs', async () => {
    const bus = openTestBus();
    try {
      const answers = await Promise.all(
        Array.from({ length: 50 }, (_, n) => bus.as('posts').post('/events').send(postCreated(n))),
      );

      expect(answers.every((res) => res.status === 201)).toBe(true);
      expect(answers.map((res) => res.body.seq).sort((a, b) => a - b)).toEqual(
        Array.from({ length: 50 }, (_, n) => n + 1),
      );
    } finally {
      await bus.close();
    }
  });
});
