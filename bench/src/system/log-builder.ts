import type { EventType } from '@mini-blog/common';
import { EventStore, type PendingEvent } from '@mini-blog/event-bus/dist/store';

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

const WORDS = 'the a great post about event driven services and logs read model query bus durable kafka node express react course blog cat tea'.split(' ');

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

export interface BuiltLog {
  readonly events: number;
  readonly ms: number;
  readonly countsByType: Readonly<Record<EventType, number>>;
}

const CHUNK = 20_000;

/**
 * Writes the log a running system would have written for `shape` straight into the bus's own store
 * (same schema, same deterministic event ids as the services use), in large transactions: a
 * million events take seconds this way instead of minutes through HTTP. Comments go to posts at
 * random (about comments/posts each), each post's comments right after it; about one in ten holds
 * a blocked word and is rejected. Every subscriber's cursor is put at the head, as on a bus that has
 * delivered everything, so the services replay it from the log rather than from deliveries.
 */
export function buildLog(dataDir: string, shape: LogShape, subscribers: readonly string[], seed = 7): BuiltLog {
  const started = performance.now();
  const random = seededRandom(seed);
  const perPost = new Uint16Array(shape.posts);
  for (let i = 0; i < shape.comments; i += 1) perPost[Math.floor(random() * shape.posts)]! += 1;

  const store = new EventStore(dataDir);
  if (store.head !== 0) throw new Error(`${dataDir}: holds a log already`);
  const counts: Record<EventType, number> = { PostCreated: 0, CommentCreated: 0, CommentModerated: 0, CommentUpdated: 0 };
  let chunk: PendingEvent[] = [];
  const push = (type: EventType, id: string, data: unknown) => {
    chunk.push({ type, id, dataJson: JSON.stringify(data) });
    counts[type] += 1;
    if (chunk.length >= CHUNK) {
      store.append([chunk], new Date().toISOString());
      chunk = [];
    }
  };
  try {
    for (let p = 0; p < shape.posts; p += 1) {
      const postId = fakeUuid(random);
      push('PostCreated', `PostCreated:${postId}`, { id: postId, title: `Post ${p}: ${sentence(random, 2, 6)}` });
      for (let c = 0; c < perPost[p]!; c += 1) {
        const id = fakeUuid(random);
        const rejected = random() < 0.1;
        const content = `${sentence(random, 3, 14)}${rejected ? ' orange' : ''}`;
        const status = rejected ? 'rejected' : 'approved';
        push('CommentCreated', `CommentCreated:${id}`, { id, postId, content, status: 'pending' });
        push('CommentModerated', `CommentModerated:${id}`, { id, postId, content, status });
        push('CommentUpdated', `CommentUpdated:${id}:${status}`, { id, postId, content, status });
      }
    }
    if (chunk.length > 0) store.append([chunk], new Date().toISOString());
    const head = store.head;
    store.saveCursors(new Map(subscribers.map((name) => [name, { cursor: head, acked: head }])));
    return { events: head, ms: performance.now() - started, countsByType: counts };
  } finally {
    store.close();
  }
}
