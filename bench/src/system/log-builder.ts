import http from 'node:http';
import { EVENT_TYPES, type EventType, type NewEvent } from '@mini-blog/common/events';
import { callJson } from './http';
import { authorization } from './processes';

/** A small, fast, seeded generator: the same log every run, so two runs measure the same thing. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS =
  'the a great post about event driven services and logs read model query bus durable kafka node express react course blog cat tea'.split(
    ' ',
  );

export function sentence(random: () => number, minWords: number, maxWords: number): string {
  const count = minWords + Math.floor(random() * (maxWords - minWords + 1));
  return Array.from({ length: count }, () => WORDS[Math.floor(random() * WORDS.length)]!).join(' ');
}

/** A UUID-shaped id, so that ids weigh what the services' real ones do. */
export function fakeUuid(random: () => number): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(random() * 16).toString(16)).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20)}`;
}

export interface LogShape {
  readonly posts: number;
  /** Each comment is three events, as the services write them: created, moderated, updated. */
  readonly comments: number;
}

/** A count of 0 for every event type of the catalog. */
export function zeroCounts(): Record<EventType, number> {
  return Object.fromEntries(EVENT_TYPES.map((type) => [type, 0])) as Record<EventType, number>;
}

export interface BuiltLog {
  readonly events: number;
  readonly ms: number;
  readonly countsByType: Readonly<Record<EventType, number>>;
}

/**
 * The events a running system would have stored for `shape`, with the services' own deterministic
 * ids. Comments go to posts at random (about comments/posts each), each post's comments right after
 * it; about one in ten holds a blocked word and is rejected.
 */
export function* blogEvents(shape: LogShape, seed = 7): Generator<NewEvent> {
  const random = seededRandom(seed);
  const perPost = new Uint16Array(shape.posts);
  for (let i = 0; i < shape.comments; i += 1) perPost[Math.floor(random() * shape.posts)]! += 1;
  for (let p = 0; p < shape.posts; p += 1) {
    const postId = fakeUuid(random);
    yield {
      type: 'PostCreated',
      id: `PostCreated:${postId}`,
      data: { id: postId, title: `Post ${p}: ${sentence(random, 2, 6)}` },
    };
    for (let c = 0; c < perPost[p]!; c += 1) {
      const id = fakeUuid(random);
      const rejected = random() < 0.1;
      const content = `${sentence(random, 3, 14)}${rejected ? ' orange' : ''}`;
      const status = rejected ? 'rejected' : 'approved';
      yield { type: 'CommentCreated', id: `CommentCreated:${id}`, data: { id, postId, content, status: 'pending' } };
      yield { type: 'CommentModerated', id: `CommentModerated:${id}`, data: { id, postId, content, status } };
      yield { type: 'CommentUpdated', id: `CommentUpdated:${id}:${status}`, data: { id, postId, content, status } };
    }
  }
}

/** The bus's largest batch. */
const BATCH = 1000;
/** Batches in flight at once, so that they share group commits. */
const IN_FLIGHT = 4;

/**
 * Stores the log of `shape` through the bus's own batch publish (`POST /events` with an array),
 * then puts each named subscriber's cursor at the head (`PUT /admin/subscriptions/:name/cursor`),
 * as on a bus that has delivered everything: the services then learn the log from their replay,
 * not from a million deliveries.
 */
export async function publishLog(busUrl: string, shape: LogShape, subscribers: readonly string[]): Promise<BuiltLog> {
  const started = performance.now();
  const agent = new http.Agent({ keepAlive: true, maxSockets: IN_FLIGHT });
  const counts = zeroCounts();
  const events = blogEvents(shape);
  let head = 0;
  const sender = async () => {
    for (;;) {
      const batch: NewEvent[] = [];
      while (batch.length < BATCH) {
        const next = events.next();
        if (next.done) break;
        batch.push(next.value);
        counts[next.value.type] += 1;
      }
      if (batch.length === 0) return;
      const answer = await callJson<{ results: { seq: number }[] }>(
        agent,
        'POST',
        `${busUrl}/events`,
        batch,
        120_000,
        authorization('loader'),
      );
      if (answer.status !== 201)
        throw new Error(
          `POST /events of ${batch.length} events answered ${answer.status}: ${JSON.stringify(answer.body).slice(0, 300)}`,
        );
      head = Math.max(head, ...answer.body.results.map((result) => result.seq));
    }
  };
  try {
    await Promise.all(Array.from({ length: IN_FLIGHT }, sender));
    for (const name of subscribers) {
      const answer = await callJson(
        agent,
        'PUT',
        `${busUrl}/admin/subscriptions/${name}/cursor`,
        { cursor: head },
        30_000,
        authorization('admin'),
      );
      if (answer.status !== 200) throw new Error(`PUT /admin/subscriptions/${name}/cursor answered ${answer.status}`);
    }
  } finally {
    agent.destroy();
  }
  return { events: head, ms: performance.now() - started, countsByType: counts };
}
