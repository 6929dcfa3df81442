import type { Envelope } from '@mini-blog/common/events';
import { waitFor } from '@mini-blog/common/testing';
import { getJson } from './http';
import type { Ledger } from './load';

export interface ViewComment {
  readonly id: string;
  readonly content: string;
  readonly status: string;
}
/** The course's map, as `GET /posts` answers it. */
export type CourseMap = Record<string, { id: string; title: string; comments: ViewComment[] }>;

/** Where the log is read: the bus's API, and the `authorization` of a principal that may read it. */
export interface LogSource {
  readonly url: string;
  readonly headers: Record<string, string>;
}

/** Every event in the log, read from the bus in pages. */
export async function readLog(source: LogSource, pageSize = 10_000): Promise<Envelope[]> {
  const events: Envelope[] = [];
  for (let after = 0; ;) {
    const page = await getJson<{ events: Envelope[]; next: number; head: number }>(
      source.url,
      `/events?after=${after}&limit=${pageSize}`,
      10_000,
      source.headers,
    );
    events.push(...page.events);
    if (page.next >= page.head || page.events.length === 0) return events;
    after = page.next;
  }
}

/** Positions that break `1, 2, 3, ...` and ids stored twice. */
export function logGaps(log: readonly Envelope[]): string[] {
  const problems: string[] = [];
  const ids = new Set<string>();
  log.forEach((event, index) => {
    if (event.seq !== index + 1) problems.push(`position ${index + 1} holds seq ${event.seq}`);
    if (ids.has(event.id)) problems.push(`event id ${event.id} stored twice`);
    ids.add(event.id);
  });
  return problems;
}

export interface Verification {
  /** Acknowledged posts and comments found in the view with the right state. */
  readonly found: number;
  readonly missing: string[];
  readonly wrongState: string[];
  readonly duplicates: string[];
  /** Things in the view or the log that no client ever asked for. */
  readonly phantoms: string[];
  readonly logGaps: string[];
  readonly logEvents: number;
  /** Posts and comments stored although their client got no 2xx (the answer was lost in a crash). */
  readonly storedWithoutAck: number;
  /** Posts and comments stored although their client was told that nothing was stored. */
  readonly storedThoughRefused: string[];
}

function countBy<T>(items: readonly T[], key: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return counts;
}

/**
 * Checks the final state against what the clients were told:
 * - every acknowledged post is in the view with its title, every acknowledged comment under its post
 *   with the verdict moderation must reach (content shown only when approved);
 * - nothing twice: in the view (a title, a comment id) or in the log (an event per post or comment
 *   and kind, a post per title, a comment per text);
 * - nothing that was never asked for, nothing that its client was told was not stored; the log's
 *   seq without gaps.
 */
export function verify(ledger: Ledger, view: CourseMap, log: readonly Envelope[]): Verification {
  const missing: string[] = [];
  const wrongState: string[] = [];
  const duplicates: string[] = [];
  const phantoms: string[] = [];
  let found = 0;

  for (const post of ledger.posts.values()) {
    const shown = view[post.id];
    if (!shown) missing.push(`post ${post.id} "${post.title}"`);
    else if (shown.title !== post.title)
      wrongState.push(`post ${post.id}: title "${shown.title}", expected "${post.title}"`);
    else found += 1;
  }
  for (const comment of ledger.comments.values()) {
    const shown = view[comment.postId]?.comments.find((candidate) => candidate.id === comment.id);
    const content = comment.expected === 'approved' ? comment.content : '';
    if (!shown) missing.push(`comment ${comment.id} on post ${comment.postId}`);
    else if (shown.status !== comment.expected || shown.content !== content) {
      wrongState.push(
        `comment ${comment.id}: ${shown.status} "${shown.content}", expected ${comment.expected} "${content}"`,
      );
    } else found += 1;
  }

  const posts = Object.values(view);
  for (const [title, count] of countBy(posts, (post) => post.title))
    if (count > 1) duplicates.push(`${count} posts titled "${title}" in the view`);
  const viewComments = posts.flatMap((post) => post.comments);
  for (const [id, count] of countBy(viewComments, (comment) => comment.id))
    if (count > 1) duplicates.push(`comment ${id} ${count} times in the view`);
  for (const post of posts)
    if (!ledger.attemptedTitles.has(post.title)) phantoms.push(`post ${post.id} "${post.title}" in the view`);

  const kinds = countBy(log, (event) => `${event.type} ${event.data.id}`);
  for (const [kind, count] of kinds) if (count > 1) duplicates.push(`${kind}: ${count} events in the log`);
  const created = log.filter((event) => event.type === 'PostCreated');
  for (const [title, count] of countBy(created, (event) => event.data.title))
    if (count > 1) duplicates.push(`${count} PostCreated titled "${title}"`);
  const commented = log.filter((event) => event.type === 'CommentCreated');
  for (const [content, count] of countBy(commented, (event) => event.data.content))
    if (count > 1) duplicates.push(`${count} CommentCreated "${content}"`);
  for (const event of created)
    if (!ledger.attemptedTitles.has(event.data.title))
      phantoms.push(`PostCreated ${event.data.id} "${event.data.title}" in the log`);
  for (const event of commented)
    if (!ledger.attemptedContents.has(event.data.content)) phantoms.push(`CommentCreated ${event.data.id} in the log`);

  const storedWithoutAck =
    created.filter((event) => !ledger.posts.has(event.data.id)).length +
    commented.filter((event) => !ledger.comments.has(event.data.id)).length;
  const storedThoughRefused = [
    ...created
      .filter((event) => ledger.saidNotStored.has(event.data.title))
      .map((event) => `post "${event.data.title}"`),
    ...commented
      .filter((event) => ledger.saidNotStored.has(event.data.content))
      .map((event) => `comment "${event.data.content}"`),
  ];
  return {
    found,
    missing,
    wrongState,
    duplicates,
    phantoms,
    logGaps: logGaps(log),
    logEvents: log.length,
    storedWithoutAck,
    storedThoughRefused,
  };
}

/** True once every acknowledged post and comment shows, with its final state. */
export function converged(ledger: Ledger, view: CourseMap): boolean {
  for (const post of ledger.posts.values()) if (view[post.id]?.title !== post.title) return false;
  for (const comment of ledger.comments.values()) {
    const shown = view[comment.postId]?.comments.find((candidate) => candidate.id === comment.id);
    if (shown?.status !== comment.expected) return false;
  }
  return true;
}

/** The first few problems of a list, for an assertion message. */
export function firstOf(problems: readonly string[], count = 10): string {
  return problems.length === 0
    ? 'none'
    : `${problems.length}: ${problems.slice(0, count).join('; ')}${problems.length > count ? '; ...' : ''}`;
}

export interface Outcome {
  readonly view: CourseMap;
  readonly log: Envelope[];
  readonly result: Verification;
  /** From `since` until the view showed everything that was acknowledged. */
  readonly convergeMs: number;
}

/**
 * Waits until GET /posts shows every acknowledged post and comment with its verdict, then reads the
 * whole log and checks the view and the log against what the clients were told.
 */
export async function convergeAndVerify(
  gateway: string,
  bus: LogSource | (() => Promise<Envelope[]>),
  ledger: Ledger,
  since: number,
  logTail?: () => string,
): Promise<Outcome> {
  let view: CourseMap = {};
  await waitFor(
    async () => {
      view = await getJson<CourseMap>(gateway, '/posts');
      return converged(ledger, view);
    },
    'every acknowledged post and comment to show in GET /posts with its verdict',
    { timeoutMs: 45_000, intervalMs: 250 },
  ).catch((err: Error) => {
    throw new Error(logTail ? `${err.message}\n--- service logs ---\n${logTail()}` : err.message);
  });
  const convergeMs = Date.now() - since;
  // The bus's log, or a reader of another transport's (the JetStream cluster's).
  const log = typeof bus === 'function' ? await bus() : await readLog(bus);
  return { view, log, convergeMs, result: verify(ledger, view, log) };
}

/**
 * The checks every scenario ends with: nothing acknowledged missing or in the wrong state, nothing
 * twice, nothing stored that a client was told was not, nothing no client asked for, no gap in the log.
 */
export function expectConsistent(result: Verification): void {
  expect(firstOf(result.missing)).toBe('none');
  expect(firstOf(result.wrongState)).toBe('none');
  expect(firstOf(result.duplicates)).toBe('none');
  expect(firstOf(result.storedThoughRefused)).toBe('none');
  expect(firstOf(result.phantoms)).toBe('none');
  expect(firstOf(result.logGaps)).toBe('none');
}
