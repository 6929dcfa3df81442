import type { Statement } from 'better-sqlite3';
import {
  assertNever,
  toPublicComment,
  type CommentStatus,
  type Envelope,
  type PublicComment,
  type PublicPost,
} from '@mini-blog/common/events';
import type { ProjectionDb, ProjectionDefinition } from '@mini-blog/common/projection';
import type { Handled } from '@mini-blog/common/registry';
import type { QueryModel } from './domain';
import { DEFAULT_POST_CACHE, PostCache, type PostCacheOptions } from './post-cache';

/**
 * A comment's columns, the same once it is under its post (`comments`) and while it waits for the
 * post (`waiting_comments`): only the key in front of them differs.
 */
const COMMENT_COLUMNS = `id TEXT NOT NULL,
     content TEXT NOT NULL,
     status TEXT NOT NULL,
     -- The seq of the event whose status and content are kept.
     status_seq INTEGER NOT NULL,
     -- The place in the post's list: the seq of CommentCreated, or the lowest seq seen before it.
     ord INTEGER NOT NULL,
     -- 1 once CommentCreated has been applied.
     created INTEGER NOT NULL,
     -- The highest seq of any event applied to the comment: its share of the post's version.
     last_seq INTEGER NOT NULL,`;

/**
 * The read model's tables, its writes and its reducer: each event is one write, whose SQL keeps the
 * rules of `domain.ts`, so an event's case, its statement and its table are one change here.
 *
 * The tables converge to the same rows whatever order the events come in, and however often,
 * because every column is decided by a rule that does not depend on arrival:
 * - a post's row is its first PostCreated (the lowest seq);
 * - a comment whose post has not been created yet waits in `waiting_comments`, which no answer
 *   reads, and moves to `comments` when the post's PostCreated is applied;
 * - a comment's status and content are those of the event that outranks the others: a decided status
 *   (approved, rejected) outranks pending, and among equals the later seq wins;
 * - a comment's place (`ord`) is the seq of its CommentCreated, or the lowest seq seen until that
 *   arrives;
 * - a post's version (the seq of the last change to it) is not stored but read: the greatest of its
 *   PostCreated seq and each comment's `last_seq`, so that a comment event writes one row.
 *
 * Comments are keyed by their post's seq, not its id: the log has a post's comments after the post,
 * so new rows go to the end of the table and a batch of events writes a few pages, where random ids
 * as keys would scatter each batch over the whole file (measured: half the events per second).
 * `waiting_comments` has the same columns keyed by the post's id. Never edit a step that has
 * shipped: append one (docs/architecture.md, "Adding a table").
 */
export const MIGRATIONS: readonly string[] = [
  `CREATE TABLE posts (
     -- The seq of PostCreated, as the rowid: the feed reads newest first along it, and pages by it.
     created_seq INTEGER PRIMARY KEY,
     id TEXT NOT NULL UNIQUE,
     title TEXT NOT NULL
   );
   CREATE TABLE comments (
     -- The post's created_seq: one post's comments are stored together, read in one range.
     post_seq INTEGER NOT NULL,
     ${COMMENT_COLUMNS}
     PRIMARY KEY (post_seq, id)
   ) WITHOUT ROWID;
   CREATE TABLE waiting_comments (
     post_id TEXT NOT NULL,
     ${COMMENT_COLUMNS}
     PRIMARY KEY (post_id, id)
   ) WITHOUT ROWID;`,
];

/** `wins`: the new event outranks the kept one (in SQL, the unqualified columns are the kept row's). */
const wins = `((excluded.status <> 'pending') > (status <> 'pending')
  OR ((excluded.status <> 'pending') = (status <> 'pending') AND excluded.status_seq > status_seq))`;

/** Applies one comment event to its row in `table`, keyed by `key` (the post's seq, or its id while it waits). */
const upsertComment = (table: string, key: string) => `
  INSERT INTO ${table} (${key}, id, content, status, status_seq, ord, created, last_seq)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (${key}, id) DO UPDATE SET
    content = CASE WHEN ${wins} THEN excluded.content ELSE content END,
    status = CASE WHEN ${wins} THEN excluded.status ELSE status END,
    status_seq = CASE WHEN ${wins} THEN excluded.status_seq ELSE status_seq END,
    ord = CASE
      WHEN excluded.created > created THEN excluded.ord
      WHEN excluded.created = created THEN min(ord, excluded.ord)
      ELSE ord END,
    created = max(created, excluded.created),
    last_seq = max(last_seq, excluded.last_seq)`;

/** A comment row's columns after its key: id, content, status, status_seq, ord, created, last_seq. */
type CommentValues = [string, string, CommentStatus, number, number, number, number];
type CommentParams<K> = [K, ...CommentValues];
type PostRow = [createdSeq: number, id: string, title: string];
type CommentRow = [postSeq: number, id: string, content: string, status: CommentStatus, lastSeq: number];

/** A comment event's data: its CommentCreated, or a verdict or an update. */
interface CommentData {
  readonly id: string;
  readonly postId: string;
  readonly content: string;
  readonly status: CommentStatus;
}

/**
 * The model as the reducer sees it: the reads of `QueryModel`, which the routes use, and the writes
 * the reducer makes, each keeping the rules whatever order they come in.
 */
export interface QueryStore extends QueryModel {
  /** A PostCreated; true when it made the post, or changed it (an earlier PostCreated of a post already stored). */
  createPost(seq: number, id: string, title: string): boolean;
  /** A comment event: its CommentCreated (`created`), or a verdict or an update. */
  applyComment(seq: number, comment: CommentData, created: boolean): void;
}

/** The model over one open database: a prepared statement per read and write, and the cache of posts' JSON. */
function openModel(db: ProjectionDb, cacheOptions: PostCacheOptions): QueryStore {
  const postSeq = db.prepare<[string], number>('SELECT created_seq FROM posts WHERE id = ?').pluck();
  const insertPost = db.prepare<[number, string, string]>(
    'INSERT INTO posts (created_seq, id, title) VALUES (?, ?, ?)',
  );
  const movePost = db.prepare<[number, string, number]>(
    'UPDATE posts SET created_seq = ?, title = ? WHERE created_seq = ?',
  );
  const moveComments = db.prepare<[number, number]>('UPDATE comments SET post_seq = ? WHERE post_seq = ?');
  const takeWaiting = db
    .prepare<[string], CommentValues>(
      `DELETE FROM waiting_comments WHERE post_id = ?
       RETURNING id, content, status, status_seq, ord, created, last_seq`,
    )
    .raw();
  const insertComment = db.prepare<CommentParams<number>>(
    'INSERT INTO comments (post_seq, id, content, status, status_seq, ord, created, last_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const upsertCreated: Statement<CommentParams<number>> = db.prepare(upsertComment('comments', 'post_seq'));
  const upsertWaiting: Statement<CommentParams<string>> = db.prepare(upsertComment('waiting_comments', 'post_id'));
  const postById = db.prepare<[string], PostRow>('SELECT created_seq, id, title FROM posts WHERE id = ?').raw();
  const commentsBetween = db
    .prepare<[number, number], CommentRow>(
      `SELECT post_seq, id, content, status, last_seq FROM comments
       WHERE post_seq BETWEEN ? AND ? ORDER BY post_seq, ord, id`,
    )
    .raw();
  const newestBelow = db
    .prepare<[number, number], PostRow>(
      'SELECT created_seq, id, title FROM posts WHERE created_seq < ? ORDER BY created_seq DESC LIMIT ?',
    )
    .raw();
  const oldestAfter = db
    .prepare<[number, number], PostRow>(
      'SELECT created_seq, id, title FROM posts WHERE created_seq > ? ORDER BY created_seq LIMIT ?',
    )
    .raw();
  const count = db.prepare<[], [number]>('SELECT count(*) FROM posts').raw();
  const cache = new PostCache(cacheOptions);

  /**
   * The posts of `rows`, with their comments. The rows are one post, or posts of one page of the feed
   * or the map: every comment stored between the lowest and the highest of their seqs belongs to a
   * post of that page, so they are read in one range of the table (those of the page's posts that
   * were not asked for, being in the cache, are passed over).
   */
  const toPosts = (rows: readonly PostRow[]): PublicPost[] => {
    if (rows.length === 0) return [];
    const posts = new Map<
      number,
      { id: string; title: string; createdSeq: number; version: number; comments: PublicComment[] }
    >(
      rows.map(([createdSeq, id, title]) => [createdSeq, { id, title, createdSeq, version: createdSeq, comments: [] }]),
    );
    const seqs = rows.map(([createdSeq]) => createdSeq);
    for (const [postSeq, id, content, status, lastSeq] of commentsBetween.iterate(
      Math.min(...seqs),
      Math.max(...seqs),
    )) {
      const post = posts.get(postSeq);
      if (post === undefined) continue;
      post.version = Math.max(post.version, lastSeq);
      post.comments.push(toPublicComment({ id, content, status }));
    }
    return rows.map(([createdSeq]) => posts.get(createdSeq)!);
  };

  /** Each row's public JSON, from the cache or else read (all the missing ones at once) and kept. */
  const jsonOf = (rows: readonly PostRow[]): string[] => {
    const json = rows.map(([, id]) => cache.get(id));
    const missing = rows.filter((_, index) => json[index] === undefined);
    const read = toPosts(missing).map((post) => {
      const text = JSON.stringify(post);
      cache.set(post.id, text);
      return text;
    });
    return json.map((text) => text ?? read.shift()!);
  };

  return {
    cache,
    createPost(seq, id, title) {
      const existing = postSeq.get(id);
      if (existing === undefined) {
        insertPost.run(seq, id, title);
        for (const row of takeWaiting.all(id)) insertComment.run(seq, ...row);
      } else if (seq < existing) {
        // An earlier PostCreated of the same post, applied after a later one: the earlier one is the post.
        movePost.run(seq, title, existing);
        moveComments.run(seq, existing);
      } else return false;
      cache.delete(id);
      return true;
    },
    applyComment(seq, { id, postId, content, status }, created) {
      const post = postSeq.get(postId);
      const flag = created ? 1 : 0;
      if (post === undefined) upsertWaiting.run(postId, id, content, status, seq, seq, flag, seq);
      else upsertCreated.run(post, id, content, status, seq, seq, flag, seq);
      cache.delete(postId);
    },
    postJson(id) {
      const cached = cache.get(id);
      if (cached !== undefined) return cached;
      const row = postById.get(id);
      return row && jsonOf([row])[0];
    },
    post(id) {
      const row = postById.get(id);
      return row && toPosts([row])[0];
    },
    feedPage(limit, before = Number.MAX_SAFE_INTEGER) {
      const rows = newestBelow.all(before, limit + 1);
      const more = rows.length > limit;
      if (more) rows.pop();
      return { posts: jsonOf(rows), nextCursor: more ? rows[rows.length - 1]![0] : null };
    },
    mapPage(after, limit) {
      const rows = oldestAfter.all(after, limit);
      // The course's shape: no createdSeq or version.
      const text = toPosts(rows)
        .map(({ id, title, comments }) => `${JSON.stringify(id)}:${JSON.stringify({ id, title, comments })}`)
        .join(',');
      return { text, count: rows.length, last: rows.length > 0 ? rows[rows.length - 1]![0] : after };
    },
    postCount: () => count.get()![0],
  };
}

/** Applies one event; returns the id of the post whose public view it may have changed, if any. */
function apply(model: QueryStore, event: Envelope<Handled<'query'>>): string | undefined {
  switch (event.type) {
    case 'PostCreated':
      return model.createPost(event.seq, event.data.id, event.data.title) ? event.data.id : undefined;
    case 'CommentCreated':
      model.applyComment(event.seq, event.data, true);
      return event.data.postId;
    case 'CommentModerated':
    case 'CommentUpdated':
      model.applyComment(event.seq, event.data, false);
      return event.data.postId;
    default:
      return assertNever(event);
  }
}

export interface QueryProjectionOptions {
  /** The bounds of the cache of posts' JSON. */
  readonly cache?: PostCacheOptions;
  /**
   * Told of every applied event that may have changed a post, with the model it was applied to: the
   * live file's model, or a rebuild's before the swap (which must not reach the live stream).
   */
  readonly onChange?: (model: QueryModel, postId: string, seq: number) => void;
}

/** Bump when the tables or what `apply` writes into them change: the service then rebuilds from the log. */
export const QUERY_PROJECTION_VERSION = 1;

/** The query service's projection of the log: posts and comments joined, as its routes read them. */
export function queryProjection({
  cache = DEFAULT_POST_CACHE,
  onChange,
}: QueryProjectionOptions = {}): ProjectionDefinition<'query', QueryStore> {
  return {
    version: QUERY_PROJECTION_VERSION,
    migrations: MIGRATIONS,
    open: (db) => openModel(db, cache),
    apply: (model, event) => {
      const changed = apply(model, event);
      if (changed !== undefined) onChange?.(model, changed, event.seq);
    },
  };
}
