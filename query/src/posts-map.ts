import type { Response } from 'express';
import { writeChunk } from '@mini-blog/common/service';
import type { QueryModel } from './domain';

/** Posts read from the database per chunk of the map: each chunk is written before the next is read. */
export const MAP_CHUNK_POSTS = 100;

/**
 * The course's map of every post (`GET /posts`), read a chunk of posts at a time and written as the
 * socket drains: its size grows with the blog, so it is never built in memory, and no read stays
 * open on the database while the client reads. The paged feed is the route to use. A client that
 * leaves halfway stops the reading.
 */
export async function writePostsMap(res: Response, projection: { readonly model: QueryModel }): Promise<void> {
  res.type('application/json');
  let after = 0;
  let separator = '';
  if (!(await writeChunk(res, '{'))) return;
  for (;;) {
    // Read anew for every chunk: a rebuild may have swapped the model meanwhile (seqs stay valid).
    const chunk = projection.model.mapPage(after, MAP_CHUNK_POSTS);
    if (chunk.count === 0) break;
    if (!(await writeChunk(res, `${separator}${chunk.text}`))) return;
    separator = ',';
    after = chunk.last;
  }
  res.end('}');
}
