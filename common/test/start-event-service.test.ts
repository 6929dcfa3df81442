import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import type { Envelope } from '../src/events';
import { busConfigSchema, ConfigError, loadConfig, portWithDefault } from '../src/service/config';
import { inMemoryProjection } from '../src/projection';
import { silentLogger } from '../src/service/logger';
import { createEventService, readOrExit } from '../src/service/start-event-service';
import { MemoryBus } from '../src/testing';
import { createTransport } from '../src/transport';

describe('createEventService', () => {
  async function service() {
    const bus = new MemoryBus();
    const applied: Envelope[] = [];
    const positions: number[] = [];
    const parts = createEventService({
      name: 'posts',
      bus,
      logger: silentLogger(),
      projection: inMemoryProjection<'posts'>((event) => void applied.push(event)),
      onCaughtUp: (position) => positions.push(position),
      routes: (app) => app.get('/posts', (_req, res) => void res.json(applied.map((event) => event.data))),
    });
    const [stored] = await bus.publishBatch([
      { type: 'PostCreated', data: { id: 'p1', title: 'Hello' }, id: 'PostCreated:p1' },
    ]);
    return { ...parts, bus, applied, positions, envelope: bus.log[stored!.seq - 1]! };
  }

  it('is not ready until its consumer has caught up with the log', async () => {
    const { app, consumer } = await service();

    const before = await request(app).get('/readyz');
    await consumer.start();
    const after = await request(app).get('/readyz');

    expect(before.status).toBe(503);
    expect(after.status).toBe(200);
  });

  it("tells onCaughtUp the consumer's position once, when the replay is done", async () => {
    const { consumer, positions } = await service();

    await consumer.start();

    expect(positions).toEqual([1]);
  });

  it('gives the reducer only the types the registry says the service handles, and reads its own reactions without applying them', async () => {
    const bus = new MemoryBus();
    const comment = { id: 'c1', postId: 'p1', content: 'Hi', status: 'pending' as const };
    await bus.publishBatch([
      { type: 'PostCreated', id: 'PostCreated:p1', data: { id: 'p1', title: 'Hello' } },
      { type: 'CommentCreated', id: 'CommentCreated:c1', data: comment },
      { type: 'CommentModerated', id: 'CommentModerated:c1', data: { ...comment, status: 'approved' } },
    ]);
    const applied: string[] = [];
    const { consumer } = createEventService({
      name: 'moderation',
      bus,
      logger: silentLogger(),
      projection: inMemoryProjection<'moderation'>((event) => {
        applied.push(event.type);
        return [
          {
            type: 'CommentModerated',
            id: `CommentModerated:${event.data.id}`,
            data: { ...event.data, status: 'approved' },
          },
        ];
      }),
    });

    await consumer.start();

    expect(applied).toEqual(['CommentCreated']);
    expect(consumer.currentPosition).toBe(3);
    // Its verdict is already in the log: the outbox has nothing to publish again.
    expect(consumer.pendingReactions).toBe(0);
    expect(bus.log).toHaveLength(3);
  });

  it("serves the consumer's POST /events beside the service's own routes", async () => {
    const { app, consumer, applied, envelope } = await service();
    await consumer.start();

    const delivered = await request(app).post('/events').send(envelope);
    const posts = await request(app).get('/posts');

    expect(delivered.status).toBe(200);
    expect(applied).toHaveLength(1);
    expect(posts.body).toEqual([{ id: 'p1', title: 'Hello' }]);
  });
});

describe('readOrExit', () => {
  afterEach(() => jest.restoreAllMocks());

  it('returns the config when it is valid', () => {
    expect(readOrExit('posts', () => ({ PORT: 4000 }))).toEqual({ PORT: 4000 });
  });

  it('prints a ConfigError without a stack trace and exits with 1', () => {
    const exit = jest.spyOn(process, 'exit').mockImplementation((code) => {
      throw new Error(`exit ${String(code)}`);
    });
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);

    expect(() =>
      readOrExit('posts', () => {
        throw new ConfigError('invalid configuration: PORT: must be a whole number');
      }),
    ).toThrow('exit 1');
    expect(stderr).toHaveBeenCalledWith('posts: invalid configuration: PORT: must be a whole number\n');
    expect(exit).toHaveBeenCalledWith(1);
  });

  it('lets any other error through', () => {
    const exit = jest.spyOn(process, 'exit').mockImplementation(() => undefined as never);

    expect(() =>
      readOrExit('posts', () => {
        throw new TypeError('a bug');
      }),
    ).toThrow('a bug');
    expect(exit).not.toHaveBeenCalled();
  });
});

describe('createTransport', () => {
  const config = (env: Record<string, string>) => loadConfig(busConfigSchema.extend(portWithDefault(4000)), env);
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'credentials-'));
    writeFileSync(path.join(dir, 'posts'), `${'s'.repeat(43)}\n`);
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("makes the HTTP transport by default, which verifies every delivery with the service's secrets", async () => {
    const bus = await createTransport({
      name: 'posts',
      config: config({ CREDENTIALS_DIR: dir }),
      logger: silentLogger(),
    });
    const { app } = createEventService({
      name: 'posts',
      bus,
      logger: silentLogger(),
      projection: inMemoryProjection(() => undefined),
    });

    const res = await request(app)
      .post('/events')
      .send({ id: 'PostCreated:p1', seq: 1, type: 'PostCreated', data: { id: 'p1', title: 'Hi' }, time: '' });

    expect(bus.isReady()).toBe(true);
    expect(res.status).toBe(401);
    expect(res.body.message).toBe('x-bus-signature: is required (deliveries must be signed)');
    await bus.close();
  });

  it('chooses JetStream for BUS_TRANSPORT=jetstream, which reports what it lacks as a ConfigError', async () => {
    await expect(
      createTransport({
        name: 'posts',
        config: config({ BUS_TRANSPORT: 'jetstream', CREDENTIALS_DIR: dir }),
        logger: silentLogger(),
      }),
    ).rejects.toThrow(new ConfigError('invalid configuration: NATS_URL: is required'));
  });

  it('refuses an unknown BUS_TRANSPORT, listing the known ones', () => {
    expect(() => config({ BUS_TRANSPORT: 'kafka' })).toThrow('BUS_TRANSPORT: must be one of http, jetstream');
  });

  it('stops with a ConfigError saying what to do without CREDENTIALS_DIR', async () => {
    await expect(createTransport({ name: 'posts', config: config({}), logger: silentLogger() })).rejects.toThrow(
      new ConfigError(
        "CREDENTIALS_DIR: is required: the folder that holds posts's credential file (`npm start` makes it under the data folder; on Kubernetes it is /etc/mini-blog/credentials)",
      ),
    );
  });

  it("stops with a ConfigError naming the service's credential file when CREDENTIALS_DIR lacks it", async () => {
    await expect(
      createTransport({ name: 'comments', config: config({ CREDENTIALS_DIR: dir }), logger: silentLogger() }),
    ).rejects.toThrow(`credential ${path.join(dir, 'comments')}: does not exist`);
  });
});
