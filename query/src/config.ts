import {
  busConfigSchema,
  loadConfig,
  portWithDefault,
  ProxyTrust,
  streamLimitsEnv,
  streamLimitsFrom,
} from '@mini-blog/common/service';
import { z } from 'zod';
import { DEFAULT_REPLAY_CHARS, DEFAULT_REPLAY_EVENTS, type LiveOptions } from './live';
import { DEFAULT_POST_CACHE, type PostCacheOptions } from './post-cache';

export const configSchema = busConfigSchema.extend({
  ...portWithDefault(4002),
  ...streamLimitsEnv,
  /** Recent changes kept for clients that reconnect (`Last-Event-ID`), at most this many... */
  STREAM_REPLAY_EVENTS: z.coerce.number().int().positive().default(DEFAULT_REPLAY_EVENTS),
  /** ...and at most this many characters of them. */
  STREAM_REPLAY_CHARS: z.coerce.number().int().positive().default(DEFAULT_REPLAY_CHARS),
  /** Posts whose public JSON is kept in memory between reads, at most this many... */
  POST_CACHE_ENTRIES: z.coerce.number().int().min(0).default(DEFAULT_POST_CACHE.maxEntries),
  /** ...and at most this many characters of them; 0 keeps none. */
  POST_CACHE_CHARS: z.coerce.number().int().min(0).default(DEFAULT_POST_CACHE.maxChars),
});

export type QueryConfig = z.infer<typeof configSchema>;

export const readConfig = (env: NodeJS.ProcessEnv = process.env) => loadConfig(configSchema, env);

/** The live stream's bounds from the config. */
export function liveOptionsFrom(config: QueryConfig): LiveOptions {
  return {
    limits: streamLimitsFrom(config),
    proxies: new ProxyTrust(config.TRUSTED_PROXIES),
    replayEvents: config.STREAM_REPLAY_EVENTS,
    replayChars: config.STREAM_REPLAY_CHARS,
  };
}

/** The bounds of the cache of posts' JSON from the config. */
export function postCacheFrom(config: QueryConfig): PostCacheOptions {
  return { maxEntries: config.POST_CACHE_ENTRIES, maxChars: config.POST_CACHE_CHARS };
}
