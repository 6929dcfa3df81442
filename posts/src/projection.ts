import type { ProjectionDb, ProjectionDefinition } from '@mini-blog/common';
import { apply, type Post, type PostsModel } from './domain';

/** posts' one table: a post keyed by the seq of its PostCreated, which orders the pages and is their cursor. */
const migrations = [
  `CREATE TABLE posts (
     seq INTEGER PRIMARY KEY,
     id TEXT NOT NULL UNIQUE,
     title TEXT NOT NULL
   ) STRICT;`,
] as const;

/** The model over one open file: a prepared statement per read and write, nothing held in memory. */
export function openPostsModel(db: ProjectionDb): PostsModel {
  const page = db.prepare<[number, number], Post & { seq: number }>(
    'SELECT seq, id, title FROM posts WHERE seq > ? ORDER BY seq LIMIT ?',
  );
  const insert = db.prepare<[number, string, string]>(
    'INSERT INTO posts (seq, id, title) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
  );
  return {
    page: (after, limit) => page.all(after, limit),
    addPost: ({ id, title }, seq) => void insert.run(seq, id, title),
  };
}

export const postsProjection: ProjectionDefinition<'posts', PostsModel> = {
  version: 1,
  migrations,
  open: openPostsModel,
  apply,
};
