import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseAdminVerifier, serviceAdminToken, serviceAdminVerifier } from '@mini-blog/common/auth';
import { MAX_COMMENTS_PER_POST } from '@mini-blog/common/events';
import { silentLogger } from '@mini-blog/common/service';
import { RecordingBus, waitFor } from '@mini-blog/common/testing';
import request from 'supertest';
import { createApp } from '../src/app';
import { commentCreated } from '../src/domain';
import { postComment } from './support';

let dataDir: string;
beforeEach(() => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'comments-projection-'));
});
afterEach(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

const ADMIN_SECRET = 'a'.repeat(43);

async function start(bus: RecordingBus) {
  const verifiers = parseAdminVerifier(serviceAdminVerifier([ADMIN_SECRET], 'comments'));
  const service = createApp({ bus, logger: silentLogger(), dataDir, admin: { verifiers } });
  await service.consumer.start();
  return service;
}

describe('comments on its projection file', () => {
  it('starts again from its checkpoint: reads only the events after it, and answers from the file', async () => {
    const bus = new RecordingBus();
    await bus.publish({ type: 'PostCreated', id: 'PostCreated:p1', data: { id: 'p1', title: 'A post' } });
    const first = await start(bus);
    await postComment(first.app, 'p1', 'first', 'k1');
    await request(first.app).post('/posts/p1/comments').send({ content: 'second' });
    const [created] = bus.ofType('CommentCreated');
    await bus.publish({ type: 'CommentModerated', data: { ...created!.data, status: 'approved' } });
    await first.consumer.syncToHead();
    await waitFor(() => bus.ofType('CommentUpdated').length === 1, 'the CommentUpdated of the verdict');
    const checkpoint = first.consumer.currentPosition;
    await first.close();
    await bus.publish(commentCreated({ id: 'third', postId: 'p1', content: 'third' }));
    const head = bus.head;
    bus.reads.length = 0;

    const second = await start(bus);
    const listed = await request(second.app).get('/posts/p1/comments');
    const retried = await postComment(second.app, 'p1', 'first', 'k1');

    expect(bus.reads[0]?.after).toBe(checkpoint);
    expect(listed.body).toEqual([
      { id: created!.data.id, content: 'first', status: 'approved' },
      { id: expect.any(String), content: '', status: 'pending' },
      { id: 'third', content: '', status: 'pending' },
    ]);
    expect(retried.status).toBe(201);
    expect(bus.head).toBe(head);
    expect(second.consumer.pendingReactions).toBe(0);
    await second.close();
  });

  it('counts the cap from the file after a restart: one more comment at 499, then 409', async () => {
    const bus = new RecordingBus();
    await bus.publish({ type: 'PostCreated', id: 'PostCreated:p1', data: { id: 'p1', title: 'A busy post' } });
    for (let i = 0; i < MAX_COMMENTS_PER_POST - 1; i += 1)
      await bus.publish(commentCreated({ id: `c${i}`, postId: 'p1', content: `comment ${i}` }), {
        expectedLastSeq: i === 0 ? 0 : bus.head,
      });
    const first = await start(bus);
    await first.close();
    bus.reads.length = 0;

    const second = await start(bus);
    const last = await request(second.app).post('/posts/p1/comments').send({ content: 'the 500th' });
    const over = await request(second.app).post('/posts/p1/comments').send({ content: 'the 501st' });

    expect(bus.reads[0]?.after).toBe(MAX_COMMENTS_PER_POST);
    expect([last.status, over.status]).toEqual([201, 409]);
    expect(bus.ofType('CommentCreated')).toHaveLength(MAX_COMMENTS_PER_POST);
    await second.close();
  });
});

describe('POST /admin/rebuild on comments', () => {
  it('lets the admin rebuild the projection from the log, and the routes answer from the new one', async () => {
    const bus = new RecordingBus();
    await bus.publish({ type: 'PostCreated', id: 'PostCreated:p1', data: { id: 'p1', title: 'A post' } });
    const service = await start(bus);
    await request(service.app).post('/posts/p1/comments').send({ content: 'kept' });
    await service.consumer.syncToHead();
    const before = service.projection.model;
    const listed = (await request(service.app).get('/posts/p1/comments')).body;

    const anonymous = await request(service.app).post('/admin/rebuild');
    const started = await request(service.app)
      .post('/admin/rebuild')
      .set('authorization', `Bearer ${serviceAdminToken(ADMIN_SECRET, 'comments')}`);
    await service.rebuilder.finished();

    expect(anonymous.status).toBe(401);
    expect(started.status).toBe(202);
    expect(service.projection.model).not.toBe(before);
    expect((await request(service.app).get('/posts/p1/comments')).body).toEqual(listed);
    expect((await request(service.app).post('/posts/p1/comments').send({ content: 'after' })).status).toBe(201);
    expect(service.projection.model.commentCount('p1')).toBe(1);
    await service.consumer.syncToHead();
    expect(service.projection.model.commentCount('p1')).toBe(2);
    await service.close();
  });
});
