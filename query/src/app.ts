import {
  createEventService,
  parseOrThrow,
  type EventServiceDeps,
  type EventServiceParts,
} from '@mini-blog/common/service';
import { activeTraceparent } from '@mini-blog/common/tracing';
import { LiveChanges, type LiveOptions } from './live';
import type { PostCacheOptions } from './post-cache';
import { writePostsMap } from './posts-map';
import { feedQuerySchema, type QueryModel } from './domain';
import { queryProjection } from './projection';

export interface QueryDeps extends EventServiceDeps {
  /** The live stream's bounds; the defaults when left out. */
  readonly live?: LiveOptions;
  /** The bounds of the cache of posts' JSON; the defaults when left out. */
  readonly cache?: PostCacheOptions;
}

export interface QueryService extends EventServiceParts<QueryModel> {
  readonly live: LiveChanges;
}

export function createApp({ live: liveOptions, cache, ...deps }: QueryDeps): QueryService {
  const live = new LiveChanges(liveOptions);
  // The posts changed by the batch being applied, sent once it has committed (the engine commits a
  // batch synchronously, so a microtask runs after it): one snapshot per post per batch.
  // Each with the trace context of the handling that changed it last, which its push continues.
  const changed = new Map<string, { seq: number; cause: string | undefined }>();
  let lastSent = 0;
  const sendChanges = () => {
    const changes = [...changed].sort((a, b) => a[1].seq - b[1].seq);
    changed.clear();
    for (const [postId, { seq, cause }] of changes) {
      const json = service.projection.model.postJson(postId);
      // A batch that was rolled back and applied again must not repeat a seq on the stream.
      if (json === undefined || seq <= lastSent) continue;
      live.publish(seq, json, cause);
      lastSent = seq;
    }
  };

  const service = createEventService({
    ...deps,
    name: 'query',
    projection: queryProjection({
      cache,
      onChange: (model, postId, seq) => {
        // A rebuild's model before its swap reaches no client, nor does the replay at startup.
        if (model !== service.projection.model || !service.consumer.isReady) return;
        if (changed.size === 0) queueMicrotask(sendChanges);
        changed.set(postId, { seq, cause: activeTraceparent() });
      },
    }),
    onCaughtUp: (position) => live.startCovering(position),
    routes: (app, { projection, consumer }) => {
      app.get('/posts', async (_req, res) => {
        await writePostsMap(res, projection);
      });

      app.get('/posts/feed', (req, res) => {
        const { limit, cursor } = parseOrThrow(feedQuerySchema, req.query, 'query');
        const { posts, nextCursor } = projection.model.feedPage(limit, cursor);
        // A FeedPage, joined from each post's JSON as the model keeps it.
        res
          .type('application/json')
          .send(
            `{"posts":[${posts.join(',')}],"nextCursor":${JSON.stringify(nextCursor === null ? null : String(nextCursor))}}`,
          );
      });

      app.get('/posts/stream', async (req, res) => {
        await live.attach(req, res, consumer.currentPosition);
      });
    },
  });
  return { ...service, live };
}
