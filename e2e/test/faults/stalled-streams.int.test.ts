import { readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { waitFor } from '@mini-blog/common/testing';
import { startFaultSystem, type FaultSystem } from './support/fault-system';
import { recordFigures } from './support/figures';
import { call, getJson } from './support/http';

/**
 * Live-stream readers that stop reading must not grow query's memory: 50 of them hold
 * `/posts/stream` open without reading while one post gets 300 comments of 1000 characters (each
 * change carries the whole post, so every reader is offered over 100 MB). query must stay under
 * its Kubernetes memory limit, keep answering, and keep a reader that does read up to date.
 */

jest.setTimeout(300_000);

const STALLED_READERS = 50;
const COMMENTS = 300;
const COMMENT_LENGTH = 1000;
const COMMENT_CONCURRENCY = 4;
/** infra/k8s/query.yaml's memory limit. */
const MEMORY_LIMIT_BYTES = 512 * 1024 * 1024;
/** What "keeps answering" means on a small shared machine under this load. */
const MAX_FEED_ANSWER_MS = 5000;

let fault: FaultSystem;
let live: LiveReader | undefined;
const stalled: StalledReader[] = [];

beforeAll(async () => {
  // Every reader here comes from 127.0.0.1: query must let one address hold them all (by default
  // it holds 8 per address, and answers the rest 429), or most of the "stalled readers" would be
  // idle keep-alive connections that the server closes only after its keep-alive timeout.
  fault = await startFaultSystem({
    name: 'stalled-streams',
    env: { query: { STREAM_MAX_PER_CLIENT: String(STALLED_READERS + 2) } },
  });
});

afterAll(async () => {
  live?.stop();
  for (const reader of stalled) reader.destroy();
  await fault?.stop();
});

/** RSS and its peak (VmHWM) of a process, in bytes, from /proc. */
function memoryOf(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const bytes = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]) * 1024;
  return { rss: bytes('VmRSS'), peak: bytes('VmHWM') };
}

const mib = (bytes: number) => Math.round(bytes / (1024 * 1024));

/**
 * A client that asks for the stream and then stops reading: the server sees only its socket fill
 * up. Once it reads again (`resume`), it drains what the kernel holds and sees whether the server
 * ended the stream.
 */
class StalledReader {
  ended = false;
  /** The first bytes it read once resumed: the response's status line and headers. */
  head = '';
  private readonly socket: net.Socket;

  constructor(port: number) {
    this.socket = net.connect({ host: '127.0.0.1', port }, () => {
      this.socket.write('GET /posts/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n');
      this.socket.pause();
    });
    this.socket.on('data', (chunk: Buffer) => {
      if (this.head.length < 200) this.head += chunk.toString('latin1', 0, 200);
    });
    this.socket.on('close', () => (this.ended = true));
    this.socket.on('error', () => undefined);
  }

  resume(): void {
    this.socket.resume();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/**
 * A reader that keeps up, as a browser does: it keeps only the last event id it saw and, when the
 * server drops it, reconnects with that id as Last-Event-ID.
 */
class LiveReader {
  lastId = -1;
  connections = 0;
  resets = 0;
  private request: http.ClientRequest | undefined;
  private stopped = false;

  constructor(private readonly port: number) {
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    this.request?.destroy();
  }

  private connect(): void {
    this.connections += 1;
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (this.lastId >= 0) headers['last-event-id'] = String(this.lastId);
    this.request = http.get({ host: '127.0.0.1', port: this.port, path: '/posts/stream', headers }, (res) => {
      let tail = '';
      res.setEncoding('utf8');
      res.on('data', (text: string) => {
        tail += text;
        const blocks = tail.split('\n\n');
        tail = blocks.pop() ?? '';
        for (const block of blocks) {
          const id = /^id: (\d+)$/m.exec(block)?.[1];
          if (id !== undefined) this.lastId = Math.max(this.lastId, Number(id));
          if (/^event: reset$/m.test(block)) this.resets += 1;
        }
      });
      res.on('close', () => this.reconnect());
    });
    this.request.on('error', () => this.reconnect());
  }

  private reconnect(): void {
    if (!this.stopped) setTimeout(() => this.connect(), 200);
  }
}

interface FeedPost {
  readonly id: string;
  readonly version: number;
  readonly comments: readonly { status: string }[];
}

describe('50 live-stream readers that stop reading, and a post that gets 300 long comments', () => {
  it('keep query under its memory limit, answering, and a reader that reads up to date', async () => {
    const query = fault.system.services.query;
    const pid = query.pid!;
    const port = Number(new URL(query.url).port);
    const before = memoryOf(pid);
    const created = await call(fault.gateway, 'POST', '/posts/create', { title: 'A busy post' });
    expect(created.status).toBe(201);
    const postId = (created.json as { id: string }).id;

    const reader = new LiveReader(port);
    live = reader;
    for (let i = 0; i < STALLED_READERS; i += 1) stalled.push(new StalledReader(port));
    await waitFor(() => reader.lastId >= 0, 'the live reader to be greeted');

    let peakRss = before.rss;
    let slowestFeedMs = 0;
    const feedFailures: string[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const started = Date.now();
        const answer = await call(query.url, 'GET', '/posts/feed?limit=1', undefined, {
          timeoutMs: MAX_FEED_ANSWER_MS,
        });
        slowestFeedMs = Math.max(slowestFeedMs, Date.now() - started);
        if (answer.status !== 200) feedFailures.push(`${answer.status} ${answer.text.slice(0, 120)}`);
        peakRss = Math.max(peakRss, memoryOf(pid).rss);
        // The sampling rate, not a wait for something: the load below ends the sampling.
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();

    let final: FeedPost;
    let convergedMs: number;
    const commentStatuses: number[] = [];
    try {
      const started = Date.now();
      let next = 0;
      await Promise.all(
        Array.from({ length: COMMENT_CONCURRENCY }, async () => {
          while (next < COMMENTS) {
            const index = next;
            next += 1;
            const content = `comment ${index} `.padEnd(COMMENT_LENGTH, 'abcdefghij');
            commentStatuses.push((await call(fault.gateway, 'POST', `/posts/${postId}/comments`, { content })).status);
          }
        }),
      );
      final = await waitFor(
        async () => {
          const { posts } = await getJson<{ posts: FeedPost[] }>(query.url, '/posts/feed?limit=1');
          const post = posts.find((candidate) => candidate.id === postId);
          return (
            post &&
            post.comments.length === COMMENTS &&
            post.comments.every((comment) => comment.status === 'approved') &&
            post
          );
        },
        'query to show every comment approved',
        { timeoutMs: 120_000 },
      );
      convergedMs = Date.now() - started;
      await waitFor(
        () => reader.lastId >= final.version,
        `the live reader to reach version ${final.version} (it is at ${reader.lastId})`,
        { timeoutMs: 30_000 },
      );
      for (const one of stalled) one.resume();
      await waitFor(
        () => stalled.every((one) => one.ended),
        'every stalled reader to find its stream ended by the server',
        { timeoutMs: 30_000 },
      );
    } finally {
      sampling = false;
      await sampler;
    }
    const after = memoryOf(pid);

    recordFigures('stalled-streams', {
      stalledReaders: STALLED_READERS,
      comments: COMMENTS,
      commentLength: COMMENT_LENGTH,
      changes: final.version,
      rssBeforeMiB: mib(before.rss),
      rssPeakSampledMiB: mib(peakRss),
      rssHighWaterMarkMiB: mib(after.peak),
      rssAfterMiB: mib(after.rss),
      memoryLimitMiB: mib(MEMORY_LIMIT_BYTES),
      stalledReadersDropped: stalled.filter((one) => one.ended).length,
      liveReaderConnections: reader.connections,
      liveReaderResets: reader.resets,
      slowestFeedAnswerMs: slowestFeedMs,
      feedFailures: feedFailures.length,
      convergedMs,
    });
    // Each stalled reader was a stream (not turned away), and the server dropped it.
    expect(
      stalled.filter((one) => !one.head.startsWith('HTTP/1.1 200')).map((one) => one.head.split('\r\n')[0]),
    ).toEqual([]);
    expect(commentStatuses.filter((status) => status !== 201)).toEqual([]);
    expect(feedFailures).toEqual([]);
    expect(slowestFeedMs).toBeLessThan(MAX_FEED_ANSWER_MS);
    expect(after.peak).toBeLessThan(MEMORY_LIMIT_BYTES);
  });
});
