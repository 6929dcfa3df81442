import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { PostChange } from '@mini-blog/common/events';
import { ID_SCOPES, idFromKey } from '@mini-blog/common/service';
import { percentiles, type Percentiles } from './percentiles';
import { publicApi, type PublicApi } from './public-api';

/**
 * `blogctl load`: the public API driven open loop, as many independent users drive it: each request
 * goes out on its schedule whatever the earlier ones' answers (a closed loop, which waits for each
 * answer, measures its own queue and hides a slow system behind a lower rate). Every latency starts
 * at the request's scheduled time, so a generator that fell behind cannot hide that either.
 */

export interface LoadMix {
  readonly posts: number;
  readonly comments: number;
}

export interface LoadOptions {
  /** The public entry point: the gateway of `npm start`, or the ingress. */
  readonly target: URL;
  /** Requests per second, posts and comments together. */
  readonly rate: number;
  readonly durationMs: number;
  /** How many of each, in proportion: 1:9 sends one post for every nine comments. */
  readonly mix: LoadMix;
  /** Posts made before the clock starts, for the comments to go to; by default one per 25 comments planned (at most 500). */
  readonly seedPosts?: number;
  /** How long to wait, after the last request, for the answers and verdicts still due. */
  readonly drainMs?: number;
  /** Connections at most to the target. */
  readonly maxSockets?: number;
  /** Stops sending early (Ctrl-C); the run is summed up as far as it went. */
  readonly signal?: AbortSignal;
  /** Called with each second's figures once it is over. */
  readonly onSecond?: (second: SecondFigures) => void;
  /** Called before the posts to comment on are made, with how many (it can take a while on a loaded system). */
  readonly onSeeding?: (posts: number) => void;
}

/** One second of the run (the drain's seconds included). */
export interface SecondFigures {
  /** Seconds since the clock started: 1 is the first. */
  readonly second: number;
  readonly sent: number;
  /** 2xx answers that arrived in this second. */
  readonly created: number;
  readonly failed: number;
  /** Requests sent and not answered yet at the end of the second. */
  readonly inFlight: number;
  /** From sending to the 2xx, for answers that arrived in this second. */
  readonly request: Percentiles;
  /** From sending a comment to its verdict on the live stream, for verdicts seen in this second. */
  readonly verdict: Percentiles;
}

export interface KindFigures {
  readonly sent: number;
  /** Answered 2xx. */
  readonly created: number;
  /** Answered otherwise, or not at all (refused, reset, timed out). */
  readonly failed: number;
  /** Still without an answer when the drain ended. */
  readonly unanswered: number;
  /** Answered 2xx, and not on the live stream within the drain (a post), or not moderated there (a comment). */
  readonly missing: number;
  /** From sending to the 2xx. */
  readonly request: Percentiles;
  /** From sending to the live stream showing it: the post, or the comment's verdict. */
  readonly shown: Percentiles;
}

export interface LoadReport {
  readonly target: string;
  /** Names this run: every post's title carries it (`Load <runId> #<n>: ...`). */
  readonly runId: string;
  readonly startedAt: string;
  readonly rate: number;
  readonly durationMs: number;
  readonly mix: LoadMix;
  /** Stopped before the end (Ctrl-C). */
  readonly stopped: boolean;
  /** Requests sent once the clock started, and at what rate. */
  readonly sent: number;
  readonly sentPerSecond: number;
  /** How late the generator sent requests against their schedule: above a few ms, it was itself a bottleneck. */
  readonly lateness: Percentiles;
  /** CPU time this process used while the clock ran (user and system): what the generator itself cost. */
  readonly cpuMs: number;
  /** Posts made before the clock started (not among `posts`). */
  readonly seededPosts: number;
  readonly posts: KindFigures;
  readonly comments: KindFigures & { readonly approved: number; readonly rejected: number };
  /** Requests that got no 2xx, by reason (`HTTP 503`, `connection refused`). */
  readonly failures: Readonly<Record<string, number>>;
  readonly seconds: readonly SecondFigures[];
}

/** One comment in ten says "orange": moderation rejects it. */
export const REJECTED_EVERY = 10;
const WORDS = 'events flow through the log to every service which applies them once and in order'.split(' ');

type Kind = 'post' | 'comment';

interface Sent {
  readonly kind: Kind;
  readonly scheduledAt: number;
  answeredAt?: number;
  shownAt?: number;
  failed?: boolean;
}

interface Window {
  sent: number;
  created: number;
  failed: number;
  readonly request: number[];
  readonly verdict: number[];
}

/** The n-th request of a mix, spread evenly: 1:9 sends a post, then nine comments, and again. */
export function kindOf(n: number, { posts, comments }: LoadMix): Kind {
  const share = posts / (posts + comments);
  return Math.floor((n + 1) * share) > Math.floor(n * share) ? 'post' : 'comment';
}

/** Text of a few words, different from one request to the next. */
function sentence(n: number): string {
  return Array.from({ length: 4 + (n % 7) }, (_, index) => WORDS[(n * 7 + index * 3) % WORDS.length]!).join(' ');
}

export async function runLoad(options: LoadOptions): Promise<LoadReport> {
  const run = new LoadRun(options);
  try {
    return await run.run();
  } finally {
    run.close();
  }
}

class LoadRun {
  private readonly api: PublicApi;
  private readonly runId = randomBytes(3).toString('hex');
  private readonly total: number;
  private readonly sent = new Map<string, Sent>();
  /** The ids the live stream has yet to show: a post's first change, a comment's verdict. */
  private readonly awaited = new Map<string, Sent>();
  /** Posts answered 201, for the comments to go to. */
  private readonly postIds: string[] = [];
  private readonly failures: Record<string, number> = {};
  private readonly verdicts = { approved: 0, rejected: 0 };
  private readonly lateness: number[] = [];
  private readonly windows: Window[] = [];
  private readonly seconds: SecondFigures[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private start = 0;
  private commentsSent = 0;
  private stream: { close(): void } | undefined;

  constructor(private readonly options: LoadOptions) {
    this.api = publicApi(options.target, options.maxSockets);
    this.total = Math.max(0, Math.round((options.rate * options.durationMs) / 1000));
  }

  async run(): Promise<LoadReport> {
    const { rate, durationMs, mix, signal, drainMs = 10_000 } = this.options;
    const startedAt = new Date();
    this.stream = await this.api.watch((change) => this.onChange(change));
    const seeded = await this.seed();

    this.start = performance.now();
    const cpu = process.cpuUsage();
    const ticker = setInterval(() => this.reportSeconds(false), 1000);
    let count = 0;
    try {
      while (count < this.total && !signal?.aborted) {
        const due = Math.min(this.total, Math.floor(((performance.now() - this.start) * rate) / 1000) + 1);
        for (; count < due; count += 1)
          this.track(this.send(count, this.start + (count * 1000) / rate, kindOf(count, mix)));
        const wait = this.start + (count * 1000) / rate - performance.now();
        if (wait > 0) await sleep(wait, undefined, { signal }).catch(() => undefined);
      }
      const sendingMs = Math.min(performance.now() - this.start, durationMs);
      await this.drain(drainMs, signal);
      this.reportSeconds(true);
      const { user, system } = process.cpuUsage(cpu);
      return this.report(startedAt, seeded, count, sendingMs, count < this.total, (user + system) / 1000);
    } finally {
      clearInterval(ticker);
    }
  }

  close(): void {
    this.stream?.close();
    this.api.close();
  }

  /**
   * Enough posts for the comments to spread over, made ten at a time: about 25 each, far from the
   * cap of 500, and a post's change on the live stream (the whole post) stays small.
   */
  private async seed(): Promise<number> {
    const comments = Array.from({ length: this.total }, (_, n) => kindOf(n, this.options.mix)).filter(
      (kind) => kind === 'comment',
    ).length;
    const count = this.options.seedPosts ?? (comments > 0 ? Math.min(500, Math.ceil(comments / 25)) : 0);
    if (count > 0) this.options.onSeeding?.(count);
    for (let first = 0; first < count; first += 10) {
      await Promise.all(
        Array.from({ length: Math.min(10, count - first) }, async (_, index) => {
          const n = first + index;
          const key = `load-${this.runId}-seed-${n}`;
          const answer = await this.api.post('/posts/create', { title: this.title(`seed ${n}`) }, key);
          if (answer.status !== 201)
            throw new Error(
              `creating the posts to comment on: POST /posts/create answered ${answer.status === 0 ? (answer.failure ?? 'nothing') : `HTTP ${answer.status}`}`,
            );
          this.postIds.push(idFromKey(ID_SCOPES.post, key));
        }),
      );
    }
    return count;
  }

  private title(what: string): string {
    return `Load ${this.runId} ${what}`;
  }

  private track(request: Promise<void>): void {
    this.inFlight.add(request);
    void request.finally(() => this.inFlight.delete(request));
  }

  private windowAt(at: number): Window {
    return this.window(Math.floor((at - this.start) / 1000));
  }

  private window(index: number): Window {
    index = Math.max(0, index);
    while (this.windows.length <= index)
      this.windows.push({ sent: 0, created: 0, failed: 0, request: [], verdict: [] });
    return this.windows[index]!;
  }

  private async send(n: number, scheduledAt: number, kind: Kind): Promise<void> {
    const key = `load-${this.runId}-${n}`;
    const record: Sent = { kind, scheduledAt };
    this.lateness.push(performance.now() - scheduledAt);
    // By its number: its scheduled time, a sum of floats, may land a hair before its second.
    this.window(Math.floor(n / this.options.rate)).sent += 1;
    let id: string;
    let path: string;
    let body: unknown;
    if (kind === 'post' || this.postIds.length === 0) {
      id = idFromKey(ID_SCOPES.post, key);
      path = '/posts/create';
      body = { title: this.title(`#${n}: ${sentence(n)}`) };
    } else {
      const postId = this.postIds[Math.floor(Math.random() * this.postIds.length)]!;
      id = idFromKey(ID_SCOPES.comment(postId), key);
      path = `/posts/${postId}/comments`;
      this.commentsSent += 1;
      body = { content: `${sentence(n)}${this.commentsSent % REJECTED_EVERY === 0 ? ' orange' : ''}` };
    }
    // Known before the answer (the id comes from the key): the stream may show it before the 201 arrives.
    this.sent.set(id, record);
    this.awaited.set(id, record);
    const answer = await this.api.post(path, body, key);
    const now = performance.now();
    const window = this.windowAt(now);
    if (answer.status >= 200 && answer.status < 300) {
      record.answeredAt = now;
      if (record.kind === 'post') this.postIds.push(id);
      window.created += 1;
      window.request.push(now - scheduledAt);
      return;
    }
    record.failed = true;
    this.awaited.delete(id);
    const reason = answer.status === 0 ? (answer.failure ?? 'no answer') : `HTTP ${answer.status}`;
    this.failures[reason] = (this.failures[reason] ?? 0) + 1;
    window.failed += 1;
  }

  private onChange({ post }: PostChange): void {
    const now = performance.now();
    const shownPost = this.awaited.get(post.id);
    if (shownPost) {
      shownPost.shownAt = now;
      this.awaited.delete(post.id);
    }
    for (const comment of post.comments) {
      if (comment.status === 'pending') continue;
      const record = this.awaited.get(comment.id);
      if (!record) continue;
      record.shownAt = now;
      this.awaited.delete(comment.id);
      this.verdicts[comment.status] += 1;
      this.windowAt(now).verdict.push(now - record.scheduledAt);
    }
  }

  /** Waits for the answers still due, and for what was answered to show on the stream. */
  private async drain(drainMs: number, signal: AbortSignal | undefined): Promise<void> {
    const until = performance.now() + drainMs;
    const waiting = () =>
      this.inFlight.size > 0 || [...this.awaited.values()].some((record) => record.answeredAt !== undefined);
    while (waiting() && performance.now() < until) {
      // A second Ctrl-C does not wait for the verdicts.
      if (signal?.aborted && this.inFlight.size === 0) return;
      await sleep(20);
    }
  }

  /** Hands each finished second to `onSecond`; at the end, the seconds of the drain too. */
  private reportSeconds(final: boolean): void {
    const now = performance.now();
    const finished = final ? this.windows.length : Math.min(this.windows.length, Math.floor((now - this.start) / 1000));
    while (this.seconds.length < finished) {
      const window = this.windows[this.seconds.length]!;
      const figures: SecondFigures = {
        second: this.seconds.length + 1,
        sent: window.sent,
        created: window.created,
        failed: window.failed,
        inFlight: this.inFlight.size,
        request: percentiles(window.request),
        verdict: percentiles(window.verdict),
      };
      this.seconds.push(figures);
      this.options.onSecond?.(figures);
    }
  }

  private report(
    startedAt: Date,
    seeded: number,
    sent: number,
    sendingMs: number,
    stopped: boolean,
    cpuMs: number,
  ): LoadReport {
    const { target, rate, durationMs, mix } = this.options;
    const figures = (kind: Kind): KindFigures => {
      const records = [...this.sent.values()].filter((record) => record.kind === kind);
      const answered = records.filter((record) => record.answeredAt !== undefined);
      return {
        sent: records.length,
        created: answered.length,
        failed: records.filter((record) => record.failed).length,
        unanswered: records.filter((record) => record.answeredAt === undefined && !record.failed).length,
        missing: answered.filter((record) => record.shownAt === undefined).length,
        request: percentiles(answered.map((record) => record.answeredAt! - record.scheduledAt)),
        shown: percentiles(
          records
            .filter((record) => record.shownAt !== undefined)
            .map((record) => record.shownAt! - record.scheduledAt),
        ),
      };
    };
    return {
      target: target.href,
      runId: this.runId,
      startedAt: startedAt.toISOString(),
      rate,
      durationMs,
      mix,
      stopped,
      sent,
      sentPerSecond: sendingMs > 0 ? (sent / sendingMs) * 1000 : 0,
      lateness: percentiles(this.lateness),
      cpuMs: Math.round(cpuMs),
      seededPosts: seeded,
      posts: figures('post'),
      comments: { ...figures('comment'), ...this.verdicts },
      failures: { ...this.failures },
      seconds: this.seconds,
    };
  }
}
