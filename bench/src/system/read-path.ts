import { fork, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { publishLog, seededRandom, type BuiltLog, type LogShape } from './log-builder';
import { load, type LoadResult } from './load';
import { freePort } from '@mini-blog/launcher';
import { Backend, cpuMsOf, memoryOf, nextMessage, subscribersFor, type Memory } from './processes';

export interface ReadPathOptions {
  readonly shape: LogShape;
  readonly seconds: number;
  readonly rounds: number;
  readonly connections: number;
  /** The fixed rate at which latency is measured, well under what either server can do. */
  readonly latencyRate: number;
}

export interface MapAnswer {
  readonly firstByteMs: number;
  readonly totalMs: number;
  readonly bytes: number;
  readonly posts: number;
  readonly comments: number;
  /** Query's resident memory before the request, and the most seen while it was answered. */
  readonly rssBefore: number;
  readonly rssPeak: number;
}

export interface ReadPathResult {
  readonly log: BuiltLog;
  readonly queryReadyMs: number;
  readonly queryMemory: Memory;
  /** Alternating runs, reference first, so that drift in the machine's load hits both alike. */
  readonly rounds: readonly { readonly bare: LoadResult; readonly feed: LoadResult }[];
  /**
   * Latency at a fixed rate: at full throughput a closed loop measures its own queue (latency is
   * connections / throughput), so p99 is taken where neither server is saturated.
   */
  readonly atRate: { readonly bare: LoadResult; readonly feed: LoadResult };
  /**
   * CPU time each server spent per request in the fixed-rate runs: on a machine shared with other
   * jobs, what a request costs is steadier than how many a closed loop gets answered.
   */
  readonly cpuPerRequestMs: { readonly bare: number; readonly feed: number };
  readonly map: MapAnswer;
  /** A round with query's cache of posts' JSON turned off (`POST_CACHE_ENTRIES=0`). */
  readonly uncached: Variant;
  /** A round with query's tracing turned off (`OTEL_SDK_DISABLED=true`), the cache on. */
  readonly untraced: Variant;
}

/** A round of each server, and each one's CPU time per request at the fixed rate, with query started with other settings. */
export interface Variant {
  readonly bare: LoadResult;
  readonly feed: LoadResult;
  readonly cpuPerRequestMs: { readonly bare: number; readonly feed: number };
}

/** Reads GET /posts to the end, counting bytes, and parses it to check that it is the whole map. */
function readMap(url: string, pid: number | undefined): Promise<MapAnswer> {
  return new Promise((resolve, reject) => {
    const rssBefore = memoryOf(pid).rss;
    let rssPeak = rssBefore;
    const sampler = setInterval(() => {
      rssPeak = Math.max(rssPeak, memoryOf(pid).rss);
    }, 20);
    const started = performance.now();
    http
      .get(url, (res) => {
        const firstByteMs = performance.now() - started;
        const chunks: Buffer[] = [];
        let bytes = 0;
        res.on('data', (chunk: Buffer) => {
          chunks.push(chunk);
          bytes += chunk.length;
        });
        res.on('end', () => {
          const totalMs = performance.now() - started;
          clearInterval(sampler);
          const map = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, { comments: unknown[] }>;
          const posts = Object.values(map);
          resolve({
            firstByteMs,
            totalMs,
            bytes,
            posts: posts.length,
            comments: posts.reduce((sum, post) => sum + post.comments.length, 0),
            rssBefore,
            rssPeak,
          });
        });
      })
      .on('error', (err) => {
        clearInterval(sampler);
        reject(err);
      });
  });
}

/**
 * The read model at scale: a log of `shape` (published to the bus in batches), one query
 * service building its projection of it (a file in its own data folder), then the paged feed under load against a bare Express GET of a feed page
 * measured in the same run, then the course's whole-map GET /posts.
 */
export async function benchReadPath(workDir: string, options: ReadPathOptions): Promise<ReadPathResult> {
  const queryPort = await freePort();
  const folder = path.join(workDir, `read-path-${options.shape.posts}`);
  const bus = await Backend.create('event-bus', {
    DATA_DIR: path.join(folder, 'log'),
    SUBSCRIBERS: subscribersFor([{ name: 'query', port: queryPort }]),
  });
  const queryEnv = { BUS_URL: bus.url, DATA_DIR: path.join(folder, 'query') };
  // BENCH_CPU_PROF=folder: the query process that builds and answers the rounds, under node --cpu-prof.
  const profile = process.env.BENCH_CPU_PROF
    ? [
        '--cpu-prof',
        `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`,
        `--cpu-prof-name=query-read-${options.shape.posts}.cpuprofile`,
      ]
    : [];
  let query = await Backend.create('query', queryEnv, queryPort, profile);
  let bare: ChildProcess | undefined;
  try {
    await bus.start();
    const log = await publishLog(bus.url, options.shape, ['query']);
    const queryReadyMs = await query.start();
    const queryMemory = query.memory;

    const pageFile = path.join(folder, 'feed-page.json');
    writeFileSync(pageFile, await (await fetch(`${query.url}/posts/feed?limit=20`)).text());
    bare = fork(path.join(__dirname, 'bare-express.js'), [pageFile], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const { port } = await nextMessage<{ port: number }>(bare);
    const bareUrl = `http://127.0.0.1:${port}`;

    // Pages from all over the feed (a cursor is a seq: any number pages below it), and the first page.
    const random = seededRandom(11);
    const feedPaths = [
      '/posts/feed?limit=20',
      ...Array.from({ length: 199 }, () => `/posts/feed?limit=20&cursor=${1 + Math.floor(random() * log.events)}`),
    ];
    const feedRun = (seconds: number, rate?: number) =>
      load({ url: query.url, seconds, connections: options.connections, paths: feedPaths, rate });
    const bareRun = (seconds: number, rate?: number) =>
      load({ url: `${bareUrl}/document`, seconds, connections: options.connections, rate });

    await bareRun(2);
    await feedRun(2);
    const rounds: { bare: LoadResult; feed: LoadResult }[] = [];
    for (let round = 0; round < options.rounds; round += 1) {
      const bareResult = await bareRun(options.seconds);
      const feedResult = await feedRun(options.seconds);
      rounds.push({ bare: bareResult, feed: feedResult });
    }

    const perRequest = async (run: () => Promise<LoadResult>, pid: number | undefined) => {
      const before = cpuMsOf(pid);
      const result = await run();
      return { result, cpuMs: (cpuMsOf(pid) - before) / Math.max(1, result.total) };
    };
    const bareAtRate = await perRequest(() => bareRun(options.seconds, options.latencyRate), bare.pid);
    const feedAtRate = await perRequest(() => feedRun(options.seconds, options.latencyRate), query.process.pid);
    const atRate = { bare: bareAtRate.result, feed: feedAtRate.result };
    const cpuPerRequestMs = { bare: bareAtRate.cpuMs, feed: feedAtRate.cpuMs };

    const map = await readMap(`${query.url}/posts`, query.process.pid);

    // Query started again (from its checkpoint) with one setting changed, then a round of each and
    // each one's CPU time per request at the fixed rate: what the cache, and tracing, account for.
    const variant = async (env: Record<string, string>): Promise<Variant> => {
      await query.stop();
      query = await Backend.create('query', { ...queryEnv, ...env }, queryPort);
      await query.start();
      await feedRun(2);
      const round = { bare: await bareRun(options.seconds), feed: await feedRun(options.seconds) };
      const bareCpu = await perRequest(() => bareRun(options.seconds, options.latencyRate), bare!.pid);
      const feedCpu = await perRequest(() => feedRun(options.seconds, options.latencyRate), query.process.pid);
      return { ...round, cpuPerRequestMs: { bare: bareCpu.cpuMs, feed: feedCpu.cpuMs } };
    };
    const uncached = await variant({ POST_CACHE_ENTRIES: '0' });
    const untraced = await variant({ OTEL_SDK_DISABLED: 'true' });
    return { log, queryReadyMs, queryMemory, rounds, atRate, cpuPerRequestMs, map, uncached, untraced };
  } finally {
    bare?.kill();
    await query.stop();
    await bus.stop();
  }
}
