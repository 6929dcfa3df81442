import type { Statement } from 'better-sqlite3';
import {
  assertNever,
  toPublicComment,
  type CommentStatus,
  type Envelope,
  type Handled,
  type ProjectionDb,
  type ProjectionDefinition,
  type PublicPost,
} from '@mini-blog/common';
import { DEFAULT_POST_CACHE, PostCache, type PostCacheOptions } from './post-cache';

/**
 * The read model's tables. They converge to the same rows whatever order the events come in, and
 * however often, because every column is decided by a rule that does not depend on arrival:
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
 */
const COMMENT_COLUMNS = `
     id TEXT NOT NULL,
     content TEXT NOT NULL,
     status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
     -- The seq of the event whose status and content are kept.
     status_seq INTEGER NOT NULL,
     -- The place in the post's list: the seq of CommentCreated, or the lowest seq seen before it.
     ord INTEGER NOT NULL,
     -- 1 once CommentCreated has been applied.
     created INTEGER NOT NULL,
     -- The highest seq of any event applied to the comment: its share of the post's version.
     last_seq INTEGER NOT NULL`;

export const MIGRATIONS: readonly string[] = [
  `CREATE TABLE posts (
     -- The seq of PostCreated, as the rowid: the feed reads newest first along it, and pages by it.
     created_seq INTEGER PRIMARY KEY,
     id TEXT NOT NULL UNIQUE,
     title TEXT NOT NULL
   );
   CREATE TABLE comments (
     -- The post's created_seq: one post's comments are stored together, read in one range.
     post_seq INTEGER NOT NULL,${COMMENT_COLUMNS},
     PRIMARY KEY (post_seq, id)
   ) WITHOUT ROWID;
   CREATE TABLE waiting_comments (
     post_id TEXT NOT NULL,${COMMENT_COLUMNS},
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
type CommentRow = [id: string, content: string, status: CommentStatus, lastSeq: number];
type MapRow = [
  createdSeq: number,
  postId: string,
  title: string,
  commentId: string | null,
  content: string | null,
  status: CommentStatus | null,
];

/** A page of the feed: each post's public JSON, newest first, and the cursor of the next page. */
export interface FeedPageJson {
  readonly posts: readonly string[];
  readonly nextCursor: number | null;
}

/** A page of the course's map: its entries as JSON text (`"id":{...}` joined by commas). */
export interface MapPage {
  readonly text: string;
  readonly count: number;
  /** The createdSeq of the last post on the page: the next page starts after it. */
  readonly last: number;
}

/** The read model over one open database: its writes (for `apply`) and the reads the routes use. */
export interface QueryModel {
  /** Applies one event; returns the id of the post whose public view it may have changed, if any. */
  applyEvent(event: Envelope<Handled<'query'>>): string | undefined;
  /** The post as every public answer shows it, as JSON; undefined for a post that is not created. */
  postJson(id: string): string | undefined;
  post(id: string): PublicPost | undefined;
  /** Newest first, starting below `before` (a createdSeq). */
  feedPage(limit: number, before?: number): FeedPageJson;
  /** The course map's entries of at most `limit` posts created after `after`, oldest first. */
  mapPage(after: number, limit: number): MapPage;
  /** Created posts. */
  postCount(): number;
  readonly cache: PostCache;
}

function openModel(db: ProjectionDb, cacheOptions: PostCacheOptions): QueryModel {
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
  const commentsOf = db
    .prepare<[number], CommentRow>(
      'SELECT id, content, status, last_seq FROM comments WHERE post_seq = ? ORDER BY ord, id',
    )
    .raw();
  const feed = db
    .prepare<[number, number], PostRow>(
      'SELECT created_seq, id, title FROM posts WHERE created_seq < ? ORDER BY created_seq DESC LIMIT ?',
    )
    .raw();
  const map = db
    .prepare<[number, number], MapRow>(
      `SELECT p.created_seq, p.id, p.title, c.id, c.content, c.status
       FROM (SELECT created_seq, id, title FROM posts WHERE created_seq > ? ORDER BY created_seq LIMIT ?) AS p
       LEFT JOIN comments AS c ON c.post_seq = p.created_seq
       ORDER BY p.created_seq, c.ord, c.id`,
    )
    .raw();
  const count = db.prepare<[], [number]>('SELECT count(*) FROM posts').raw();
  const cache = new PostCache(cacheOptions);

  const toPost = ([createdSeq, id, title]: PostRow): PublicPost => {
    let version = createdSeq;
    const comments = commentsOf.all(createdSeq).map(([commentId, content, status, lastSeq]) => {
      version = Math.max(version, lastSeq);
      return toPublicComment({ id: commentId, content, status });
    });
    return { id, title, createdSeq, version, comments };
  };

  const jsonOf = (row: PostRow): string => {
    const cached = cache.get(row[1]);
    if (cached !== undefined) return cached;
    const json = JSON.stringify(toPost(row));
    cache.set(row[1], json);
    return json;
  };

  /** Applies a PostCreated; true when it made or changed the post. */
  const createPost = (seq: number, id: string, title: string): boolean => {
    const existing = postSeq.get(id);
    if (existing === undefined) {
      insertPost.run(seq, id, title);
      for (const row of takeWaiting.all(id)) insertComment.run(seq, ...row);
      return true;
    }
    if (seq >= existing) return false;
    // An earlier PostCreated of the same post, applied after a later one: the earlier one is the post.
    movePost.run(seq, title, existing);
    moveComments.run(seq, existing);
    return true;
  };

  const applyComment = (
    seq: number,
    data: { id: string; postId: string; content: string; status: CommentStatus },
    created: boolean,
  ): string => {
    const post = postSeq.get(data.postId);
    const flag = created ? 1 : 0;
    if (post === undefined) upsertWaiting.run(data.postId, data.id, data.content, data.status, seq, seq, flag, seq);
    else upsertCreated.run(post, data.id, data.content, data.status, seq, seq, flag, seq);
    return data.postId;
  };

  return {
    cache,
    applyEvent(event) {
      let changed: string | undefined;
      switch (event.type) {
        case 'PostCreated':
          if (createPost(event.seq, event.data.id, event.data.title)) changed = event.data.id;
          break;
        case 'CommentCreated':
          changed = applyComment(event.seq, event.data, true);
          break;
        case 'CommentModerated':
        case 'CommentUpdated':
          changed = applyComment(event.seq, event.data, false);
          break;
        default:
          return assertNever(event);
      }
      if (changed !== undefined) cache.delete(changed);
      return changed;
    },
    postJson(id) {
      const cached = cache.get(id);
      if (cached !== undefined) return cached;
      const row = postById.get(id);
      return row && jsonOf(row);
    },
    post(id) {
      const row = postById.get(id);
      return row && toPost(row);
    },
    feedPage(limit, before = Number.MAX_SAFE_INTEGER) {
      const rows = feed.all(before, limit + 1);
      const more = rows.length > limit;
      if (more) rows.pop();
      return { posts: rows.map(jsonOf), nextCursor: more ? rows[rows.length - 1]![0] : null };
    },
    mapPage(after, limit) {
      let text = '';
      let count = 0;
      let last = after;
      let comments: string[] = [];
      const flush = (id: string, title: string) => {
        text += `${count === 0 ? '' : ','}${JSON.stringify(id)}:{"id":${JSON.stringify(id)},"title":${JSON.stringify(title)},"comments":[${comments.join(',')}]}`;
        count += 1;
        comments = [];
      };
      let current: MapRow | undefined;
      for (const row of map.iterate(after, limit)) {
        if (current && current[0] !== row[0]) flush(current[1], current[2]);
        current = row;
        last = row[0];
        const [, , , commentId, content, status] = row;
        if (commentId !== null)
          comments.push(JSON.stringify(toPublicComment({ id: commentId, content: content!, status: status! })));
      }
      if (current) flush(current[1], current[2]);
      return { text, count, last };
    },
    postCount: () => count.get()![0],
  };
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
}: QueryProjectionOptions = {}): ProjectionDefinition<'query', QueryModel> {
  return {
    version: QUERY_PROJECTION_VERSION,
    migrations: MIGRATIONS,
    open: (db) => openModel(db, cache),
    apply: (model, event) => {
      const changed = model.applyEvent(event);
      if (changed !== undefined) onChange?.(model, changed, event.seq);
    },
  };
}
