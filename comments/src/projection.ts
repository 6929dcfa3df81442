import type { CommentStatus } from '@mini-blog/common/events';
import type { ProjectionDb, ProjectionDefinition } from '@mini-blog/common/projection';
import { apply, type Comment, type CommentsModel } from './domain';

/**
 * comments' tables. A comment's row is keyed by the seq of the first event that named it (its
 * CommentCreated, or a verdict that came first): events are applied in seq order, so a post's
 * comments listed by that seq are in the order this service first learnt of them.
 */
const migrations = [
  `CREATE TABLE posts (
     id TEXT PRIMARY KEY
   ) STRICT, WITHOUT ROWID;
   CREATE TABLE comments (
     seq INTEGER PRIMARY KEY,
     id TEXT NOT NULL UNIQUE,
     post_id TEXT NOT NULL,
     content TEXT NOT NULL,
     status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected'))
   ) STRICT;
   -- A post's comments in seq order (the rowid is part of every index entry), and their count.
   CREATE INDEX comments_of_post ON comments (post_id);
   -- Per post, the seq of the newest CommentCreated published with its comments' key.
   CREATE TABLE comment_keys (
     post_id TEXT PRIMARY KEY,
     last_seq INTEGER NOT NULL
   ) STRICT, WITHOUT ROWID;`,
] as const;

const COMMENT_COLUMNS = 'id, post_id AS postId, content, status';

/** The model over one open file: a prepared statement per read and write, nothing held in memory. */
export function openCommentsModel(db: ProjectionDb): CommentsModel {
  const hasPost = db.prepare<[string], { found: 1 }>('SELECT 1 AS found FROM posts WHERE id = ?');
  const comment = db.prepare<[string], Comment>(`SELECT ${COMMENT_COLUMNS} FROM comments WHERE id = ?`);
  const commentsOf = db.prepare<[string], Comment>(
    `SELECT ${COMMENT_COLUMNS} FROM comments WHERE post_id = ? ORDER BY seq`,
  );
  const countOf = db.prepare<[string], { count: number }>('SELECT count(*) AS count FROM comments WHERE post_id = ?');
  const lastKeyedSeq = db.prepare<[string], { lastSeq: number }>(
    'SELECT last_seq AS lastSeq FROM comment_keys WHERE post_id = ?',
  );
  const addPost = db.prepare<[string]>('INSERT INTO posts (id) VALUES (?) ON CONFLICT DO NOTHING');
  const insertComment = db.prepare<[number, string, string, string, CommentStatus]>(
    'INSERT INTO comments (seq, id, post_id, content, status) VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING',
  );
  const setStatus = db.prepare<[CommentStatus, string]>('UPDATE comments SET status = ? WHERE id = ?');
  const setLastKeyedSeq = db.prepare<[string, number]>(
    'INSERT INTO comment_keys (post_id, last_seq) VALUES (?, ?) ON CONFLICT (post_id) DO UPDATE SET last_seq = excluded.last_seq',
  );
  return {
    hasPost: (id) => hasPost.get(id) !== undefined,
    comment: (id) => comment.get(id),
    commentsOf: (postId) => commentsOf.all(postId),
    commentCount: (postId) => countOf.get(postId)!.count,
    lastKeyedSeq: (postId) => lastKeyedSeq.get(postId)?.lastSeq ?? 0,
    addPost: (id) => void addPost.run(id),
    insertComment: ({ id, postId, content, status }, seq) => void insertComment.run(seq, id, postId, content, status),
    setStatus: (id, status) => void setStatus.run(status, id),
    setLastKeyedSeq: (postId, seq) => void setLastKeyedSeq.run(postId, seq),
  };
}

export const commentsProjection: ProjectionDefinition<'comments', CommentsModel> = {
  version: 1,
  migrations,
  open: openCommentsModel,
  apply,
};
