import { chmodSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { DATABASE_FILE } from '../src/log/log-writer';
import { openTestBus, postCreated, tempDir, type TestBus } from './helpers';

const modeOf = (file: string) => statSync(file).mode & 0o777;

/**
 * The log holds every event, rejected comments included: its files are the owner's alone, and no
 * answer of the API (which needs a token) is kept by a cache.
 */
describe("the bus's data", () => {
  it('creates its folder 0700 and its database, -wal and -shm 0600, whatever the umask', async () => {
    const parent = tempDir();
    const dataDir = path.join(parent.path, 'data');
    const umask = process.umask(0o022);
    const bus = openTestBus([], { dataDir });
    try {
      await bus.publish(postCreated(1), 'posts').expect(201);
      const file = path.join(dataDir, DATABASE_FILE);

      expect(modeOf(dataDir)).toBe(0o700);
      expect([file, `${file}-wal`, `${file}-shm`].map(modeOf)).toEqual([0o600, 0o600, 0o600]);
    } finally {
      process.umask(umask);
      await bus.close();
      parent.remove();
    }
  });

  it('narrows the files of an older log that others could read', async () => {
    const dir = tempDir();
    const file = path.join(dir.path, DATABASE_FILE);
    const first = openTestBus([], { dataDir: dir.path });
    await first.publish(postCreated(1), 'posts').expect(201);
    await first.close();
    chmodSync(file, 0o644);
    writeFileSync(`${file}-shm`, '', { flag: 'a' });
    chmodSync(`${file}-shm`, 0o666);

    const again = openTestBus([], { dataDir: dir.path });
    try {
      expect(modeOf(file)).toBe(0o600);
      expect(modeOf(`${file}-shm`)).toBe(0o600);
      expect((await again.as('admin').get('/events?after=0')).body.events).toHaveLength(1);
    } finally {
      await again.close();
      dir.remove();
    }
  });

  it('keeps the mode of a folder it did not create (a volume mount point)', async () => {
    const parent = tempDir();
    const dataDir = path.join(parent.path, 'volume');
    mkdirSync(dataDir, { mode: 0o750 });
    chmodSync(dataDir, 0o750);
    const bus = openTestBus([], { dataDir });
    try {
      expect(modeOf(dataDir)).toBe(0o750);
      expect(modeOf(path.join(dataDir, DATABASE_FILE))).toBe(0o600);
    } finally {
      await bus.close();
      parent.remove();
    }
  });
});

describe("the bus's answers", () => {
  it.each([
    ['a publish', (bus: TestBus) => bus.as('posts').post('/events').send(postCreated(1)), 201],
    ['a page of the log', (bus: TestBus) => bus.as('admin').get('/events?after=0'), 200],
    ['a refusal without a token', (bus: TestBus) => request(bus.app).get('/events?after=0'), 401],
    ['a refusal of a type', (bus: TestBus) => bus.as('query').post('/events').send(postCreated(1)), 403],
    ['an admin route', (bus: TestBus) => bus.as('admin').get('/admin/parked'), 200],
  ])('API: %s is answered nosniff and no-store', async (_case, send, status) => {
    const bus = openTestBus();
    try {
      const res = await send(bus);

      expect(res.status).toBe(status);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['cache-control']).toBe('no-store');
    } finally {
      await bus.close();
    }
  });

  it('views: nosniff on every answer, a refused write included', async () => {
    const bus = openTestBus();
    try {
      for (const res of [await request(bus.views).get('/subscriptions'), await request(bus.views).post('/flow')])
        expect(res.headers['x-content-type-options']).toBe('nosniff');
    } finally {
      await bus.close();
    }
  });
});
