import { assertNever, type Envelope } from '@mini-blog/common/events';
import type { ProjectionDb, ProjectionDefinition } from '@mini-blog/common/projection';
import type { Handled } from '@mini-blog/common/registry';
import type { Post, PostsModel } from './domain';

/** posts' one table: a post keyed by the seq of its PostCreated, which orders the pages and is their cursor. */
const migrations = [
  `CREATE TABLE posts (
     seq INTEGER PRIMARY KEY,
     id TEXT NOT NULL UNIQUE,
     title TEXT NOT NULL
   ) STRICT;`,
] as const;

/** The model as the reducer sees it: the read of `PostsModel`, which the route uses, and the write of a post. */
export interface PostsStore extends PostsModel {
  /** Stores a post not known yet; the first PostCreated of an id stands. */
  addPost(post: Post, seq: number): void;
}

/** The model over one open file: a prepared statement per read and write, nothing held in memory. */
export function openPostsModel(db: ProjectionDb): PostsStore {
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

/** Applies one event: each case one write, whose SQL keeps the rule. */
function apply(model: PostsStore, event: Envelope<Handled<'posts'>>): void {
  switch (event.type) {
    case 'PostCreated':
      model.addPost({ id: event.data.id, title: event.data.title }, event.seq);
      return;
    default:
      assertNever(event.type);
  }
}

export const postsProjection: ProjectionDefinition<'posts', PostsStore> = {
  version: 1,
  migrations,
  open: openPostsModel,
  apply,
};
