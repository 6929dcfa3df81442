import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { silentLogger } from '@mini-blog/common/service';
import { RecordingBus } from '@mini-blog/common/testing';
import request from 'supertest';
import { createApp } from '../src/app';

let dataDir: string;
beforeEach(() => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'posts-projection-'));
});
afterEach(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

async function start(bus: RecordingBus) {
  const service = createApp({ bus, logger: silentLogger(), dataDir });
  await service.consumer.start();
  return service;
}

describe('posts on its projection file', () => {
  it('starts again from its checkpoint: reads only the events after it, and pages GET /posts from the file', async () => {
    const bus = new RecordingBus();
    const first = await start(bus);
    for (const title of ['One', 'Two']) await request(first.app).post('/posts/create').send({ title });
    await first.consumer.syncToHead();
    await first.close();
    await bus.publish({ type: 'PostCreated', id: 'PostCreated:p3', data: { id: 'p3', title: 'Three' } });
    bus.reads.length = 0;

    const second = await start(bus);
    const firstPage = await request(second.app).get('/posts?limit=2');
    const next = /^<([^>]+)>; rel="next"$/.exec(firstPage.headers.link ?? '')?.[1];
    const secondPage = await request(second.app).get(next!);

    expect(bus.reads[0]?.after).toBe(2);
    expect(Object.values(firstPage.body).map((post) => (post as { title: string }).title)).toEqual(['One', 'Two']);
    expect(secondPage.body).toEqual({ p3: { id: 'p3', title: 'Three' } });
    expect(secondPage.headers.link).toBeUndefined();
    await second.close();
  });
});
