import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { NewEvent } from '../../src/events';
import type { ProjectionDefinition } from '../../src/projection';
import { silentLogger } from '../../src/service/logger';
import { createEventService } from '../../src/start-event-service';
import { MemoryBus } from '../../src/testing';
import type { LogPage, ReadLogOptions } from '../../src/transport';

/** The log, recording what the consumer asks of it. */
class RecordingBus extends MemoryBus {
  readonly reads: ReadLogOptions[] = [];

  override async readLog(options: ReadLogOptions): Promise<LogPage> {
    this.reads.push(options);
    return super.readLog(options);
  }
}

interface TitlesModel {
  add(id: string, title: string): void;
  titles(): string[];
}

/** A projection of post titles: one table, and a reducer that fails on a title of 'boom'. */
const titles: ProjectionDefinition<'posts', TitlesModel> = {
  version: 1,
  migrations: ['CREATE TABLE titles (id TEXT PRIMARY KEY, title TEXT NOT NULL)'],
  open: (db) => {
    const insert = db.prepare<[string, string]>('INSERT INTO titles (id, title) VALUES (?, ?)');
    const all = db.prepare<[], string>('SELECT title FROM titles ORDER BY rowid').pluck();
    return { add: (id, title) => void insert.run(id, title), titles: () => all.all() };
  },
  apply: (model, event) => {
    if (event.data.title === 'boom') throw new Error('the reducer failed');
    model.add(event.data.id, event.data.title);
  },
};

const post = (id: string, title = `Post ${id}`): NewEvent => ({
  type: 'PostCreated',
  id: `PostCreated:${id}`,
  data: { id, title },
});

let dataDir: string;
beforeEach(() => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'projection-'));
});
afterEach(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

function start(bus: MemoryBus, definition = titles) {
  return createEventService({ name: 'posts', bus, logger: silentLogger(), dataDir, projection: definition });
}

describe('a projection in its own file', () => {
  it('starts again from its checkpoint: a restart reads only the events after it', async () => {
    const bus = new RecordingBus();
    await bus.publishBatch([post('a'), post('b')]);
    const first = start(bus);
    await first.consumer.start();
    await first.close();
    await bus.publishBatch([post('c')]);
    bus.reads.length = 0;

    const second = start(bus);
    await second.consumer.start();

    expect(bus.reads.map((read) => read.after)).toEqual([2]);
    expect(second.projection.model.titles()).toEqual(['Post a', 'Post b', 'Post c']);
    expect(second.consumer.currentPosition).toBe(3);
    await second.close();
  });

  it('applies a batch in one transaction: a reducer that throws mid-batch moves neither the state nor the checkpoint', async () => {
    const bus = new MemoryBus();
    await bus.publishBatch([post('a')]);
    const service = start(bus);
    await service.consumer.start();
    await bus.publishBatch([post('b'), post('x', 'boom'), post('c')]);

    await expect(service.consumer.deliver(bus.log.slice(1))).rejects.toThrow('the reducer failed');

    expect(service.projection.model.titles()).toEqual(['Post a']);
    expect(service.consumer.currentPosition).toBe(1);
    await service.close();
  });
});
