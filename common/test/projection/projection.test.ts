import {
  chmodSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { NewEvent } from '../../src/events';
import { ConfigError } from '../../src/service/config';
import { projectionFileName, type ProjectionDb, type ProjectionDefinition } from '../../src/projection';
import { silentLogger } from '../../src/service/logger';
import { createEventService } from '../../src/service/start-event-service';
import request from 'supertest';
import { checkProjectionFile, MemoryBus, waitFor } from '../../src/testing';
import { BusUnavailableError, type LogPage, type ReadLogOptions } from '../../src/transport';

/** The log, recording what the consumer asks of it. */
class RecordingBus extends MemoryBus {
  readonly reads: ReadLogOptions[] = [];

  override async readLog(options: ReadLogOptions): Promise<LogPage> {
    this.reads.push(options);
    return super.readLog(options);
  }
}

interface TitlesModel {
  readonly db: ProjectionDb;
  add(id: string, title: string): void;
  titles(): string[];
}

const TITLES_SCHEMA = 'CREATE TABLE titles (id TEXT PRIMARY KEY, title TEXT NOT NULL)';

/** A projection of post titles: one table, and a reducer that fails on a title of 'boom'. */
function titlesProjection({
  version = 1,
  migrations = [TITLES_SCHEMA],
}: { version?: number; migrations?: string[] } = {}): ProjectionDefinition<'posts', TitlesModel> {
  return {
    version,
    migrations,
    open: (db) => {
      const insert = db.prepare<[string, string]>('INSERT INTO titles (id, title) VALUES (?, ?)');
      const all = db.prepare<[], string>('SELECT title FROM titles ORDER BY rowid').pluck();
      return { db, add: (id, title) => void insert.run(id, title), titles: () => all.all() };
    },
    apply: (model, event) => {
      if (event.data.title === 'boom') throw new Error('the reducer failed');
      model.add(event.data.id, event.data.title);
    },
  };
}

const post = (id: string, title = `Post ${id}`): NewEvent => ({
  type: 'PostCreated',
  id: `PostCreated:${id}`,
  data: { id, title },
});

let dataDir: string;
const file = () => path.join(dataDir, projectionFileName('posts'));
const asideFiles = () =>
  readdirSync(dataDir).filter((name) => /\.sqlite\.[a-z-]+-\d{4}-/.test(name) && !/-(wal|shm)$/.test(name));

beforeEach(() => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'projection-'));
});
afterEach(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

function start(bus: MemoryBus, definition = titlesProjection()) {
  return createEventService({ name: 'posts', bus, logger: silentLogger(), dataDir, projection: definition });
}

/** Builds the file from `events` with `definition`, and closes it. */
async function writeFile(definition: ProjectionDefinition<'posts', TitlesModel>, events: NewEvent[]) {
  const bus = new MemoryBus();
  await bus.publishBatch(events);
  const service = start(bus, definition);
  await service.consumer.start();
  await service.close();
  return bus;
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

  it('applies a delivery in one transaction: a reducer that throws mid-batch moves neither the state nor the checkpoint', async () => {
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

  it('applies a page of the log in one transaction: a replay that fails leaves the file at its checkpoint', async () => {
    const bus = new MemoryBus();
    await bus.publishBatch([post('a'), post('x', 'boom')]);
    const service = start(bus);

    await expect(service.consumer.start()).rejects.toThrow('the reducer failed');

    expect(service.projection.model.titles()).toEqual([]);
    expect(service.consumer.currentPosition).toBe(0);
    await service.close();
  });
});

describe('opening a file', () => {
  it('runs the migrations a file written at an older step has not had, and keeps its rows and checkpoint', async () => {
    const bus = await writeFile(titlesProjection(), [post('a')]);
    const twoSteps = titlesProjection({
      migrations: [TITLES_SCHEMA, "ALTER TABLE titles ADD COLUMN note TEXT NOT NULL DEFAULT 'old'"],
    });

    const service = start(bus, twoSteps);

    expect(service.projection.model.titles()).toEqual(['Post a']);
    expect(service.projection.model.db.prepare('SELECT note FROM titles').pluck().all()).toEqual(['old']);
    expect(service.consumer.currentPosition).toBe(1);
    expect(service.projection.dump().projection_meta).toContainEqual({ key: 'step', value: '2' });
    expect(asideFiles()).toEqual([]);
    await service.close();
  });

  it.each([
    ['newer-schema', titlesProjection({ migrations: [TITLES_SCHEMA, 'CREATE TABLE later (x)'] }), titlesProjection()],
    ['newer-version', titlesProjection({ version: 2 }), titlesProjection()],
    ['older-version', titlesProjection(), titlesProjection({ version: 2 })],
  ])('moves a file of %s aside and builds a new one from the start of the log', async (reason, writer, reader) => {
    const bus = new RecordingBus();
    await bus.publishBatch([post('a'), post('b')]);
    const first = start(bus, writer);
    await first.consumer.start();
    await first.close();
    bus.reads.length = 0;

    const service = start(bus, reader);
    await service.consumer.start();

    expect(asideFiles()).toEqual([expect.stringMatching(new RegExp(`^posts\\.sqlite\\.${reason}-`))]);
    expect(bus.reads[0]?.after).toBe(0);
    expect(service.projection.model.titles()).toEqual(['Post a', 'Post b']);
    await service.close();
  });

  it.each([
    ['a header that is not SQLite', (bytes: Buffer) => bytes.fill(7)],
    ['a damaged table page', (bytes: Buffer) => bytes.fill(0xff, bytes.length - 4096 + 8, bytes.length - 8)],
  ])('moves a corrupt file (%s) aside and builds a new one from the start of the log', async (_what, damage) => {
    const posts = Array.from({ length: 200 }, (_, index) =>
      post(`p${index}`, `A title long enough to fill pages ${index}`),
    );
    const bus = await writeFile(titlesProjection(), posts);
    writeFileSync(file(), damage(readFileSync(file())));

    const service = start(bus);
    await service.consumer.start();

    expect(asideFiles()).toEqual([expect.stringMatching(/^posts\.sqlite\.corrupt-/)]);
    expect(service.projection.model.titles()).toHaveLength(200);
    await service.close();
  });

  it('opens a file larger than checkBeforeOpenBytes at once, checks it in the background, and found corrupt answers 503 until it is rebuilt beside and moved aside', async () => {
    const posts = Array.from({ length: 200 }, (_, index) =>
      post(`p${index}`, `A title long enough to fill pages ${index}`),
    );
    const bus = await writeFile(titlesProjection(), posts);
    const bytes = readFileSync(file());
    writeFileSync(file(), bytes.fill(0xff, bytes.length - 4096 + 8, bytes.length - 8));

    const service = createEventService({
      name: 'posts',
      bus,
      logger: silentLogger(),
      dataDir,
      projection: titlesProjection(),
      checkBeforeOpenBytes: 1024,
      routes: (app, { projection }) => app.get('/titles', (_req, res) => void res.json(projection.model.titles())),
    });
    await service.consumer.start();
    // The rebuild waits for the log while the test looks at the service.
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const read = bus.readLog.bind(bus);
    bus.readLog = async (options) => gate.then(() => read(options));
    await waitFor(() => !service.projection.writable, 'the check to find the file corrupt');
    const meanwhile = await request(service.app).get('/titles');
    const ready = await request(service.app).get('/readyz');
    release();
    await service.rebuilder.finished();

    expect(meanwhile.status).toBe(503);
    expect(meanwhile.body.message).toMatch(/its projection .*posts\.sqlite is corrupt \(quick_check: /);
    expect(ready.status).toBe(503);

    expect(service.rebuilder.status).toMatchObject({ state: 'swapped', position: 200 });
    expect(asideFiles()).toEqual([expect.stringMatching(/^posts\.sqlite\.corrupt-/)]);
    expect(service.projection.writable).toBe(true);
    expect((await request(service.app).get('/titles')).body).toHaveLength(200);
    await service.close();
  });

  it("refuses another service's file rather than moving it", async () => {
    await writeFile(titlesProjection(), [post('a')]);
    renameSync(file(), path.join(dataDir, projectionFileName('query')));

    expect(() =>
      createEventService({
        name: 'query',
        bus: new MemoryBus(),
        logger: silentLogger(),
        dataDir,
        projection: { version: 1, migrations: [], open: () => undefined, apply: () => undefined },
      }),
    ).toThrow(
      new ConfigError(
        `projection ${path.join(dataDir, 'query.sqlite')}: belongs to the service posts, not query: give each service its own DATA_DIR`,
      ),
    );
    expect(asideFiles()).toEqual([]);
  });
});

describe('reactions', () => {
  const moderation = (): ProjectionDefinition<'moderation', void> => ({
    version: 1,
    migrations: [],
    open: () => undefined,
    apply: (_model, event) => [
      {
        type: 'CommentModerated',
        id: `CommentModerated:${event.data.id}`,
        data: { ...event.data, status: 'approved' },
      },
    ],
  });
  const comment = (id: string): NewEvent => ({
    type: 'CommentCreated',
    id: `CommentCreated:${id}`,
    data: { id, postId: 'p1', content: 'Nice', status: 'pending' },
  });
  const startModeration = (bus: MemoryBus) =>
    createEventService({ name: 'moderation', bus, logger: silentLogger(), dataDir, projection: moderation() });

  it('keeps a reaction that could not be published in the outbox table, and publishes it once after a restart', async () => {
    const bus = new MemoryBus();
    await bus.publishBatch([comment('c1')]);
    bus.failWith = new BusUnavailableError('connection refused');
    const first = startModeration(bus);
    await first.consumer.start();
    expect(first.projection.dump().projection_outbox).toHaveLength(1);
    await first.close();
    bus.failWith = undefined;

    const second = startModeration(bus);
    await second.consumer.start();
    await waitFor(() => second.consumer.pendingReactions === 0, 'the outbox to drain');

    expect(bus.ofType('CommentModerated').map((event) => event.id)).toEqual(['CommentModerated:c1']);
    expect(second.projection.dump().projection_outbox).toEqual([]);
    await second.close();
  });

  it('drops, loudly, a reaction whose id the log holds with other data, and publishes the others', async () => {
    const bus = new MemoryBus();
    // Another process published a verdict under moderation's id for c1, before the comment.
    await bus.publish({
      type: 'CommentModerated',
      id: 'CommentModerated:c1',
      data: { id: 'c1', postId: 'p1', content: 'Nice', status: 'rejected' },
    });
    await bus.publishBatch([comment('c1'), comment('c2')]);
    const service = startModeration(bus);

    await service.consumer.start();
    await waitFor(() => service.consumer.pendingReactions === 0, 'the outbox to drain');

    expect(bus.ofType('CommentModerated').map((event) => [event.id, event.data.status])).toEqual([
      ['CommentModerated:c1', 'rejected'],
      ['CommentModerated:c2', 'approved'],
    ]);
    await service.close();
  });

  it('drops from the outbox a reaction the log already has (published before a crash, not yet seen)', async () => {
    const bus = new MemoryBus();
    await bus.publishBatch([comment('c1')]);
    bus.failWith = new BusUnavailableError('connection refused');
    const first = startModeration(bus);
    await first.consumer.start();
    await first.close();
    bus.failWith = undefined;
    // Published meanwhile (the answer was lost before the row was deleted).
    await bus.publish({
      type: 'CommentModerated',
      id: 'CommentModerated:c1',
      data: { id: 'c1', postId: 'p1', content: 'Nice', status: 'approved' },
    });

    const second = startModeration(bus);
    await second.consumer.start();

    expect(second.consumer.pendingReactions).toBe(0);
    expect(bus.ofType('CommentModerated')).toHaveLength(1);
    await second.close();
  });
});

describe("checkProjectionFile (the crash tests' check)", () => {
  it('finds no difference between a file and the log it was built from, and names the table that differs', async () => {
    const bus = await writeFile(titlesProjection(), [post('a'), post('b')]);
    await bus.publishBatch([post('c')]);

    const same = await checkProjectionFile(file(), 'posts', titlesProjection(), async () => bus.log);
    const db = new Database(file());
    db.prepare("UPDATE titles SET title = 'changed' WHERE id = 'b'").run();
    db.close();
    const changed = await checkProjectionFile(file(), 'posts', titlesProjection(), async () => bus.log);

    expect(same).toEqual({ checkpoint: 2, differences: [] });
    expect(changed.differences).toEqual([
      'titles: 2 rows live, 2 rebuilt; live only [{"id":"b","title":"changed"}], rebuilt only [{"id":"b","title":"Post b"}]',
    ]);
  });
});

describe('file modes', () => {
  it("keeps the file the owner's alone, narrowing an older file's, and makes a missing folder 0700", async () => {
    await writeFile(titlesProjection(), [post('a')]);
    chmodSync(file(), 0o644);

    const service = start(new MemoryBus());
    const nested = createEventService({
      name: 'posts',
      bus: new MemoryBus(),
      logger: silentLogger(),
      dataDir: path.join(dataDir, 'made-here'),
      projection: titlesProjection(),
    });

    expect(statSync(path.join(dataDir, 'made-here')).mode & 0o777).toBe(0o700);
    expect(statSync(file()).mode & 0o777).toBe(0o600);
    await service.close();
    await nested.close();
  });
});
