import { randomUUID } from 'node:crypto';
import { ID_SCOPES, idFromKey } from '@mini-blog/common/service';
import { call } from './http';

/** A comment with this word is rejected by moderation (the default BLOCKED_WORDS). */
export const BLOCKED_WORD = 'orange';

export interface AckedPost {
  readonly id: string;
  readonly title: string;
}

export interface AckedComment {
  readonly id: string;
  readonly postId: string;
  readonly content: string;
  /** The verdict moderation must reach. */
  readonly expected: 'approved' | 'rejected';
}

/**
 * What the clients were told: every 2xx is a promise the system must keep. Also what was only
 * attempted, so that anything found that was never even asked for can be told apart.
 */
export class Ledger {
  readonly posts = new Map<string, AckedPost>();
  readonly comments = new Map<string, AckedComment>();
  readonly attemptedTitles = new Set<string>();
  readonly attemptedContents = new Set<string>();
  /** Answers by status ('0' for no answer). */
  readonly outcomes = new Map<string, number>();
  /** One message per status other than 2xx, as first seen. */
  readonly failureMessages = new Map<number, string>();
  /** Titles and comment texts whose answer said that nothing was stored: a promise too. */
  readonly saidNotStored = new Set<string>();
  /** Answers that said the request may have been stored (its answer was lost in a crash). */
  saidMayBeStored = 0;
  requests = 0;

  get acknowledged(): number {
    return this.posts.size + this.comments.size;
  }

  get failed(): number {
    return this.requests - this.acknowledged;
  }

  record(status: number, message: string, text: string): void {
    this.outcomes.set(String(status), (this.outcomes.get(String(status)) ?? 0) + 1);
    if ((status < 200 || status >= 300) && !this.failureMessages.has(status)) this.failureMessages.set(status, message);
    if (/nothing was stored/.test(message)) this.saidNotStored.add(text);
    if (/may have been stored/.test(message)) this.saidMayBeStored += 1;
  }

  /** The answers by status, as `{ "201": 310, "503": 12 }`. */
  outcomeCounts(): Record<string, number> {
    return Object.fromEntries([...this.outcomes].sort(([a], [b]) => a.localeCompare(b)));
  }
}

export interface LoadOptions {
  readonly gateway: string;
  readonly ledger: Ledger;
  /** Distinguishes this load's titles and comments from any other's. */
  readonly tag: string;
  readonly maxRequests: number;
  readonly concurrency?: number;
  /** Requests started per second at most, so that a fault lasts for a known share of the load. */
  readonly ratePerSecond?: number;
  /** Every n-th comment holds the blocked word. */
  readonly rejectEvery?: number;
  readonly timeoutMs?: number;
}

/**
 * Clients of the blog through the gateway: they create posts and comment on the posts they were
 * told exist, at a steady pace, with a bounded number of requests in flight and in total. Nothing
 * is retried: each request is one attempt, and its answer goes into the ledger.
 */
export class Load {
  private next = 0;
  private stopped = false;
  private readonly started = Date.now();
  private readonly done: Promise<void>;
  /** This load's Idempotency-Keys: its tag as a key allows it, and a part of its own, so no other load's keys are the same. */
  private readonly keyPrefix: string;

  constructor(private readonly options: LoadOptions) {
    this.keyPrefix = `${options.tag.replace(/[^A-Za-z0-9._:-]/g, '-')}-${randomUUID().slice(0, 8)}`;
    const workers = Array.from({ length: options.concurrency ?? 10 }, () => this.worker());
    this.done = Promise.all(workers).then(() => undefined);
  }

  /** Requests started so far. */
  get issued(): number {
    return this.next;
  }

  /** Resolves once every request has been answered (the total reached, or `stop` called). */
  finished(): Promise<void> {
    return this.done;
  }

  /** Starts no more requests; resolves once the ones in flight are answered. */
  stop(): Promise<void> {
    this.stopped = true;
    return this.done;
  }

  private async worker(): Promise<void> {
    const { maxRequests, ratePerSecond = 40 } = this.options;
    for (;;) {
      if (this.stopped || this.next >= maxRequests) return;
      const index = this.next;
      this.next += 1;
      const startAt = this.started + (index * 1000) / ratePerSecond;
      const wait = startAt - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      await this.request(index);
    }
  }

  private async request(index: number): Promise<void> {
    const { gateway, ledger, tag, rejectEvery = 4, timeoutMs = 15_000 } = this.options;
    const posts = [...ledger.posts.values()];
    ledger.requests += 1;
    if (posts.length === 0 || index % 3 === 0) {
      const title = `${tag} post ${index}`;
      ledger.attemptedTitles.add(title);
      const answer = await call(gateway, 'POST', '/posts/create', { title }, { timeoutMs });
      ledger.record(answer.status, answer.text, title);
      if (answer.status === 201) {
        const { id } = answer.json as { id: string };
        ledger.posts.set(id, { id, title });
      }
      return;
    }
    const post = posts[Math.floor(Math.random() * posts.length)]!;
    const rejected = index % rejectEvery === 1;
    const content = `${tag} comment ${index}${rejected ? ` with an ${BLOCKED_WORD}` : ' looks good'}`;
    ledger.attemptedContents.add(content);
    // The 201 lists the post's comments, and another client's comment applied meanwhile may follow
    // this one: the comment's id comes from the Idempotency-Key it is sent with, not from its place.
    const key = `${this.keyPrefix}-comment-${index}`;
    const answer = await call(
      gateway,
      'POST',
      `/posts/${post.id}/comments`,
      { content },
      { timeoutMs, headers: { 'idempotency-key': key } },
    );
    ledger.record(answer.status, answer.text, content);
    if (answer.status === 201) {
      const id = idFromKey(ID_SCOPES.comment(post.id), key);
      const listed = (answer.json as { id: string }[]).some((comment) => comment.id === id);
      if (!listed) throw new Error(`comment ${index}: its 201 does not list ${id}: ${answer.text}`);
      ledger.comments.set(id, { id, postId: post.id, content, expected: rejected ? 'rejected' : 'approved' });
    }
  }
}
