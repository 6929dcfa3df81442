import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { serviceAdminToken, serviceAdminVerifier, parseAdminVerifier } from '../../src/auth/service-admin';
import type { NewEvent } from '../../src/events';
import type { ProjectionDb, ProjectionDefinition } from '../../src/projection';
import { silentLogger } from '../../src/service/logger';
import { createEventService } from '../../src/service/start-event-service';
import { MemoryBus, waitFor } from '../../src/testing';
import type { LogPage, ReadLogOptions } from '../../src/transport';

interface TitlesModel {
  readonly db: ProjectionDb;
  titles(): string[];
}

const titles: ProjectionDefinition<'posts', TitlesModel> = {
  version: 1,
  migrations: ['CREATE TABLE titles (id TEXT PRIMARY KEY, title TEXT NOT NULL)'],
  open: (db) => {
    const all = db.prepare<[], string>('SELECT title FROM titles ORDER BY rowid').pluck();
    return { db, titles: () => all.all() };
  },
  apply: (model, event) =>
    void model.db.prepare('INSERT INTO titles (id, title) VALUES (?, ?)').run(event.data.id, event.data.title),
};

const post = (id: string): NewEvent => ({
  type: 'PostCreated',
  id: `PostCreated:${id}`,
  data: { id, title: `Post ${id} ${'x'.repeat(150)}` },
});

const ADMIN_SECRET = 'a'.repeat(43);
const OWN_SECRET = 'p'.repeat(43);

let dataDir: string;
beforeEach(() => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'projection-'));
});
afterEach(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

function start(bus: MemoryBus) {
  return createEventService({
    name: 'posts',
    bus,
    logger: silentLogger(),
    dataDir,
    projection: titles,
    admin: { verifiers: parseAdminVerifier(serviceAdminVerifier([ADMIN_SECRET], 'posts')), ownSecrets: [OWN_SECRET] },
    routes: (app, { projection }) => app.get('/titles', (_req, res) => void res.json(projection.model.titles())),
  });
}

describe('a projection the disk refuses to write', () => {
  it('makes the service unready and its reads 503, refuses deliveries with 503, and recovers once writes work again', async () => {
    const bus = new MemoryBus();
    await bus.publishBatch([post('a')]);
    const service = start(bus);
    await service.consumer.start();
    const { db } = service.projection.model;
    // The file may not grow: the next page SQLite needs fails with SQLITE_FULL, as on a full disk.
    db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true }) as number}`);
    await bus.publishBatch(Array.from({ length: 50 }, (_, index) => post(`b${index}`)));

    const delivery = await request(service.app).post('/events').send(bus.log.slice(1));
    const ready = await request(service.app).get('/readyz');
    const read = await request(service.app).get('/titles');

    expect(delivery.status).toBe(503);
    expect(delivery.body.message).toMatch(/cannot write its projection .*posts\.sqlite \(SQLITE_FULL/);
    expect(ready.status).toBe(503);
    expect(read.status).toBe(503);
    expect(read.body.message).toMatch(/SQLITE_FULL.*; try again later$/);
    expect(service.consumer.currentPosition).toBe(1);

    db.pragma('max_page_count = 1073741823');
    await waitFor(async () => (await request(service.app).get('/readyz')).status === 200, 'ready again');
    const again = await request(service.app).post('/events').send(bus.log.slice(1));

    expect(again.status).toBe(200);
    expect((await request(service.app).get('/titles')).body).toHaveLength(51);
    await service.close();
  });
});

/** The log, recording the reads and letting a test hold them back. */
class GatedBus extends MemoryBus {
  readonly reads: ReadLogOptions[] = [];
  private gate: Promise<void> | undefined;
  private open: () => void = () => undefined;

  hold(): void {
    this.gate = new Promise((resolve) => {
      this.open = resolve;
    });
  }

  release(): void {
    this.open();
    this.gate = undefined;
  }

  override async readLog(options: ReadLogOptions): Promise<LogPage> {
    this.reads.push(options);
    await this.gate;
    return super.readLog(options);
  }
}

describe('POST /admin/rebuild', () => {
  const admin = { authorization: `Bearer ${serviceAdminToken(ADMIN_SECRET, 'posts')}` };

  /**
   * A service, with its admin routes and `GET /titles`, started on a log of 30 posts that it reads
   * 10 at a time; the log's reads wait while the bus holds them.
   */
  async function startOnGatedLog() {
    const bus = new GatedBus();
    await bus.publishBatch(Array.from({ length: 30 }, (_, index) => post(`a${index}`)));
    const service = createEventService({
      name: 'posts',
      bus,
      logger: silentLogger(),
      dataDir,
      projection: titles,
      pageSize: 10,
      admin: { verifiers: parseAdminVerifier(serviceAdminVerifier([ADMIN_SECRET], 'posts')) },
      routes: (app, { projection }) => app.get('/titles', (_req, res) => void res.json(projection.model.titles())),
    });
    await service.consumer.start();
    return { bus, service };
  }

  it('builds a new file from the start of the log while the live one answers, then swaps it in', async () => {
    const { bus, service } = await startOnGatedLog();
    const before = service.projection.model;
    bus.reads.length = 0;
    bus.hold();

    const started = await request(service.app).post('/admin/rebuild').set(admin);
    await waitFor(() => bus.reads.length > 0, 'the rebuild to read the log');
    // Meanwhile the live projection takes a delivery, and answers.
    await bus.publishBatch([post('b')]);
    await service.consumer.deliver(bus.log.slice(30));
    const answered = await request(service.app).get('/titles');
    expect(readdirSync(dataDir)).toContain('posts.sqlite.rebuild');
    bus.release();
    await service.rebuilder.finished();
    const status = await request(service.app).get('/admin/rebuild').set(admin);

    expect(started.status).toBe(202);
    expect(started.body).toMatchObject({ state: 'running', position: 0 });
    expect(bus.reads[0]).toMatchObject({ after: 0 });
    expect(answered.body).toHaveLength(31);
    expect(status.body).toMatchObject({ state: 'swapped', position: 31, live: 31, error: null });
    expect(service.projection.model).not.toBe(before);
    expect((await request(service.app).get('/titles')).body).toHaveLength(31);
    expect(readdirSync(dataDir).filter((name) => name.includes('rebuild'))).toEqual([]);
    await service.close();

    // The swapped file is the service's file: a restart goes on from its checkpoint.
    bus.reads.length = 0;
    const restarted = start(bus);
    await restarted.consumer.start();
    expect(bus.reads.map((read) => read.after)).toEqual([31]);
    expect(restarted.projection.model.titles()).toHaveLength(31);
    await restarted.close();
  });

  it('stops a rebuild in progress when the service closes, and removes its file', async () => {
    const { bus, service } = await startOnGatedLog();
    bus.reads.length = 0;
    bus.hold();
    service.rebuilder.start();
    await waitFor(() => bus.reads.length > 0, 'the rebuild to read the log');

    const closed = service.close();
    bus.release();
    await closed;

    expect(service.rebuilder.status).toMatchObject({ state: 'failed', error: 'the service is stopping' });
    expect(readdirSync(dataDir).filter((name) => name.includes('rebuild'))).toEqual([]);
  });

  it.each([
    ['no token', {}, 401, 'authorization: is required (Bearer <the admin token for this service>)'],
    [
      'the admin secret itself',
      { authorization: `Bearer ${ADMIN_SECRET}` },
      401,
      'authorization: the token is not the admin token for this service',
    ],
    [
      "another service's admin token",
      { authorization: `Bearer ${serviceAdminToken(ADMIN_SECRET, 'query')}` },
      401,
      'authorization: the token is not the admin token for this service',
    ],
    [
      "the service's own token",
      { authorization: `Bearer ${OWN_SECRET}` },
      403,
      'authorization: posts may not use the admin routes',
    ],
  ])('refuses %s', async (_who, headers, status, message) => {
    const service = start(new MemoryBus());
    await service.consumer.start();

    const post = await request(service.app).post('/admin/rebuild').set(headers);
    const get = await request(service.app).get('/admin/rebuild').set(headers);

    expect([post.status, post.body.message]).toEqual([status, message]);
    expect([get.status, get.body.message]).toEqual([status, message]);
    expect(service.rebuilder.status.state).toBe('idle');
    await service.close();
  });

  it('refuses everyone with 403 when the service was given no admin verifier', async () => {
    const service = createEventService({
      name: 'posts',
      bus: new MemoryBus(),
      logger: silentLogger(),
      projection: titles,
    });

    const res = await request(service.app).post('/admin/rebuild').set(admin);

    expect(res.status).toBe(403);
    expect(res.body.message).toBe('authorization: posts has no admin verifier (ADMIN_TOKEN_SHA256): nobody may');
    await service.close();
  });

  it('rebuilds an in-memory projection too (the swap replaces the database)', async () => {
    const bus = new MemoryBus();
    await bus.publishBatch([post('a'), post('b')]);
    const service = createEventService({ name: 'posts', bus, logger: silentLogger(), projection: titles });
    await service.consumer.start();

    service.rebuilder.start();
    await service.rebuilder.finished();

    expect(service.rebuilder.status).toMatchObject({ state: 'swapped', position: 2 });
    expect(service.projection.model.titles()).toHaveLength(2);
    await service.close();
  });
});
