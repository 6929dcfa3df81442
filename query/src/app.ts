import type { Response } from 'express';
import {
  createEventService,
  inMemoryProjection,
  parseOrThrow,
  toPublicComment,
  writeChunk,
  type EventServiceDeps,
  type EventServiceParts,
} from '@mini-blog/common';
import { z } from 'zod';
import { apply, commentsOf, createState, feedPage, publicPostJson, type QueryState } from './domain';
import { LiveChanges, type LiveOptions } from './live';

export interface QueryDeps extends EventServiceDeps {
  /** The live stream's bounds; the defaults when left out. */
  readonly live?: LiveOptions;
}

export interface QueryService extends EventServiceParts {
  readonly state: QueryState;
  readonly live: LiveChanges;
}

export const MAX_PAGE_SIZE = 100;

const feedQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(20),
  cursor: z.coerce.number().int().positive().optional(),
});

/**
 * The course's map of every post, written in chunks as the socket drains: its size grows with the
 * blog, so it is never built as one string in memory. The paged feed is the route to use. A client
 * that leaves halfway stops the writing.
 */
async function writePostsMap(res: Response, state: QueryState): Promise<void> {
  res.type('application/json');
  let chunk = '{';
  let first = true;
  for (const post of state.feed) {
    const { id, title } = post;
    chunk += `${first ? '' : ','}${JSON.stringify(id)}:${JSON.stringify({ id, title, comments: Array.from(commentsOf(post), toPublicComment) })}`;
    first = false;
    if (chunk.length >= 64 * 1024) {
      if (!(await writeChunk(res, chunk))) return;
      chunk = '';
    }
  }
  res.end(`${chunk}}`);
}

export function createApp({ bus, logger, corsOrigins, live: liveOptions }: QueryDeps): QueryService {
  const state = createState();
  const live = new LiveChanges(liveOptions);
  const { app, consumer, projection, close } = createEventService({
    name: 'query',
    bus,
    logger,
    corsOrigins,
    // The state is still in memory: no dataDir, so that the log is read from its start at every start.
    projection: inMemoryProjection<'query'>((event) => {
      const post = apply(state, event);
      // Nobody listens before the replay ends, and a million snapshots would slow it down.
      if (post && consumer.isReady) live.publish(event.seq, publicPostJson(post));
    }),
    onCaughtUp: (position) => live.startCovering(position),
    routes: (app) => {
      app.get('/posts', async (_req, res) => {
        await writePostsMap(res, state);
      });

      app.get('/posts/feed', (req, res) => {
        const { limit, cursor } = parseOrThrow(feedQuerySchema, req.query, 'query');
        const { posts, nextCursor } = feedPage(state, limit, cursor);
        // A FeedPage, joined from each post's JSON as it is kept between changes.
        res
          .type('application/json')
          .send(
            `{"posts":[${posts.map(publicPostJson).join(',')}],"nextCursor":${JSON.stringify(nextCursor === null ? null : String(nextCursor))}}`,
          );
      });

      app.get('/posts/stream', async (req, res) => {
        await live.attach(req, res, consumer.currentPosition);
      });
    },
  });
  return { app, consumer, projection, close, state, live };
}
