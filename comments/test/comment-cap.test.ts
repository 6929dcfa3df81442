import { MAX_COMMENTS_PER_POST, type NewEvent } from '@mini-blog/common/events';
import { silentLogger } from '@mini-blog/common/service';
import {
  BusUnavailableError,
  ConflictError,
  type PublishOptions,
  type PublishResult,
} from '@mini-blog/common/transport';
import { MemoryBus, waitFor } from '@mini-blog/common/testing';
import request from 'supertest';
import { createApp, MAX_PUBLISH_ATTEMPTS } from '../src/app';
import { commentCreated } from '../src/domain';
import { postComment } from './support';

/** A post with `count` comments in the log, published as this service publishes them. */
async function postWithComments(bus: MemoryBus, count: number, postId = 'p1'): Promise<string> {
  await bus.publish({ type: 'PostCreated', id: `PostCreated:${postId}`, data: { id: postId, title: 'A busy post' } });
  for (let i = 0; i < count; i += 1) {
    const comment = commentCreated({ id: `old-${i}`, postId, content: `comment ${i}` });
    await bus.publish(comment, { expectedLastSeq: i === 0 ? 0 : bus.head });
  }
  return postId;
}

async function startReplica(bus: MemoryBus) {
  const service = createApp({ bus, logger: silentLogger() });
  await service.consumer.start();
  return service;
}

/** Sends `count` comments at once, spread over the replicas in turn; returns the statuses. */
async function commentAtOnce(
  replicas: readonly { app: Parameters<typeof request>[0] }[],
  postId: string,
  count: number,
): Promise<number[]> {
  const answers = await Promise.all(
    Array.from({ length: count }, (_, i) =>
      request(replicas[i % replicas.length]!.app)
        .post(`/posts/${postId}/comments`)
        .send({ content: `new comment ${i}` }),
    ),
  );
  return answers.map((answer) => answer.status);
}

const tally = (statuses: readonly number[]) =>
  statuses.reduce<Record<number, number>>((counts, status) => ({ ...counts, [status]: (counts[status] ?? 0) + 1 }), {});

describe('the comment limit under concurrency', () => {
  it.each([
    ['accepts exactly 10 of 60 concurrent comments on a post with 490, and answers the rest 409', 1],
    ['stays exact with two replicas that each count from what they have applied', 2],
  ])('%s', async (_title, replicaCount) => {
    const bus = new MemoryBus();
    const postId = await postWithComments(bus, 490);
    const replicas = [];
    for (let i = 0; i < replicaCount; i += 1) replicas.push(await startReplica(bus));

    const statuses = await commentAtOnce(replicas, postId, 60);

    expect(tally(statuses)).toEqual({ 201: 10, 409: 50 });
    expect(bus.ofType('CommentCreated').filter((event) => event.data.postId === postId)).toHaveLength(
      MAX_COMMENTS_PER_POST,
    );
  });

  it('stays exact when a replica has not applied the other replica’s comments at all', async () => {
    const bus = new MemoryBus();
    const postId = await postWithComments(bus, 495);
    const stale = await startReplica(bus);
    const current = await startReplica(bus);
    expect(tally(await commentAtOnce([current], postId, 3))).toEqual({ 201: 3 });

    // `stale` counts 495 and expects the post's last comment where it was before `current` added three.
    const statuses = await commentAtOnce([stale], postId, 5);

    expect(tally(statuses)).toEqual({ 201: 2, 409: 3 });
    expect(bus.ofType('CommentCreated')).toHaveLength(MAX_COMMENTS_PER_POST);
  });

  it('answers a retry (same Idempotency-Key) of a comment that is stored but not yet applied here 201, even at the limit', async () => {
    const bus = new MemoryBus();
    const postId = await postWithComments(bus, 499);
    const first = await startReplica(bus);
    const other = await startReplica(bus);
    const stored = await postComment(first.app, postId, 'the 500th', 'last-one');

    const retried = await postComment(other.app, postId, 'the 500th', 'last-one');

    expect(stored.status).toBe(201);
    expect(retried.status).toBe(201);
    expect(retried.body.at(-1).id).toBe(stored.body.at(-1).id);
    expect(bus.ofType('CommentCreated')).toHaveLength(MAX_COMMENTS_PER_POST);
  });

  it('answers 503 and stores nothing when other writers win every attempt', async () => {
    class AlwaysBehind extends MemoryBus {
      attempts = 0;
      override async publish(event: NewEvent, options?: PublishOptions): Promise<PublishResult> {
        if (event.type !== 'CommentCreated') return super.publish(event, options);
        this.attempts += 1;
        throw new ConflictError(event.key!, this.head);
      }
    }
    const bus = new AlwaysBehind();
    const postId = await postWithComments(bus, 0);
    const replica = await startReplica(bus);

    const res = await request(replica.app).post(`/posts/${postId}/comments`).send({ content: 'never first' });

    expect(res.status).toBe(503);
    expect(res.body.message).toBe(`post ${postId}: too many comments are being added at once; try again in a moment`);
    expect(bus.attempts).toBe(MAX_PUBLISH_ATTEMPTS);
    expect(bus.ofType('CommentCreated')).toHaveLength(0);
  });

  it('publishes each comment with its post’s key, on condition of the post’s last comment', async () => {
    const bus = new MemoryBus();
    const postId = await postWithComments(bus, 1);
    const replica = await startReplica(bus);

    await request(replica.app).post(`/posts/${postId}/comments`).send({ content: 'second' });

    expect(bus.ofType('CommentCreated').map((event) => [event.key, event.seq])).toEqual([
      [`comments:${postId}`, 2],
      [`comments:${postId}`, 3],
    ]);
  });
});

describe('comments waiting in turn for a post while the bus is down', () => {
  it('are answered 503 at once when the one before them found the bus unavailable, and later ones are published', async () => {
    class SlowlyFailing extends MemoryBus {
      attempts = 0;
      release!: () => void;
      private readonly released = new Promise<void>((resolve) => (this.release = resolve));
      override async publish(event: NewEvent, options?: PublishOptions): Promise<PublishResult> {
        if (event.type !== 'CommentCreated') return super.publish(event, options);
        this.attempts += 1;
        if (this.attempts > 1) return super.publish(event, options);
        await this.released;
        throw new BusUnavailableError('ECONNREFUSED');
      }
    }
    const bus = new SlowlyFailing();
    const postId = await postWithComments(bus, 0);
    const replica = await startReplica(bus);
    const send = (content: string) =>
      request(replica.app)
        .post(`/posts/${postId}/comments`)
        .send({ content })
        .then((res) => res);

    const first = send('first');
    await waitFor(() => bus.attempts === 1, 'the first publish to be under way');
    const waiting = [send('second'), send('third')];
    await waitFor(() => replica.commentQueue.size(`post ${postId}`) === 3, 'the others to wait in turn');
    bus.release();
    const answers = await Promise.all([first, ...waiting]);

    expect(answers.map((res) => res.status)).toEqual([503, 503, 503]);
    expect(answers[1]!.body.message).toBe(
      'event-bus: unavailable (it failed a request that came before this one); nothing was stored, try again',
    );
    expect(bus.attempts).toBe(1);
    expect((await send('after the outage')).status).toBe(201);
  });
});

describe('POST /posts/:id/comments with an Idempotency-Key reused for another body', () => {
  it.each([
    ['applied here already', true],
    ['only in the log so far', false],
  ])(
    'answers 422 naming the key when the first comment is %s, and the first comment stands',
    async (_where, syncFirst) => {
      const bus = new MemoryBus();
      const postId = await postWithComments(bus, 0);
      const replica = await startReplica(bus);
      const first = await postComment(replica.app, postId, 'first words', 'form-7');
      if (syncFirst) await replica.consumer.syncToHead();

      const reused = await postComment(replica.app, postId, 'other words', 'form-7');

      expect(first.status).toBe(201);
      expect(reused.status).toBe(422);
      expect(reused.body.message).toMatch(
        /^idempotency-key: form-7 was used before with a different request body; the first request stands/,
      );
      expect(reused.body.fields).toHaveProperty('idempotency-key');
      expect(bus.ofType('CommentCreated').map((event) => event.data.content)).toEqual(['first words']);
    },
  );

  it('answers the same key with the same content 201 with the same comment', async () => {
    const bus = new MemoryBus();
    const postId = await postWithComments(bus, 0);
    const replica = await startReplica(bus);
    const first = await postComment(replica.app, postId, 'same words', 'form-8');
    await replica.consumer.syncToHead();

    const again = await postComment(replica.app, postId, 'same words', 'form-8');

    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    expect(bus.ofType('CommentCreated')).toHaveLength(1);
  });
});
