import http from 'node:http';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { PostChange, PublicComment } from '@mini-blog/common';
import { startSystem } from '@mini-blog/launcher';
import { callJson, openSse } from './http';
import { seededRandom, sentence } from './log-builder';
import { snapshot } from './memory';
import { cpuMsOf, type Memory } from './processes';
import { distribution, type Distribution } from './report';

export interface ChainLoad {
  /** Comments per second, sent on schedule whether or not earlier ones were answered (open loop). */
  readonly rate: number;
  readonly seconds: number;
  /** Sent at the same rate before the measured part, and not counted. */
  readonly warmupSeconds: number;
}

export interface ChainResult {
  /** From the 201 of POST /posts/:id/comments to the live stream showing approved or rejected. */
  readonly afterCreated: Distribution;
  /** The POST itself (through the gateway, until its 201 had arrived). */
  readonly post: Distribution;
  /** From sending the POST to the live stream showing the verdict. */
  readonly endToEnd: Distribution;
  readonly sent: number;
  readonly failed: number;
  /** Answered 201 but never shown moderated within the drain time. */
  readonly missing: number;
  /** Shown moderated before the 201 had reached the client (counted as 0 ms). */
  readonly shownBefore201: number;
  /** The rate actually achieved. */
  readonly rate: number;
}

const DRAIN_MS = 10_000;

/**
 * Posts comments through the gateway at a fixed rate while watching the live stream (also through
 * the gateway, as the browser does), and times how long after each 201 the stream shows the
 * moderation's verdict: comments → bus → moderation → bus → query → stream.
 */
export async function measureEventChain(
  gatewayUrl: string,
  postIds: readonly string[],
  load: ChainLoad,
  seed: number,
): Promise<ChainResult> {
  const random = seededRandom(seed);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const shownAt = new Map<string, number>();
  const stream = await openSse(`${gatewayUrl}/posts/stream`, (event, data) => {
    if (event !== 'change') return;
    const now = performance.now();
    const { post } = JSON.parse(data) as PostChange;
    for (const comment of post.comments) {
      if (comment.status !== 'pending' && !shownAt.has(comment.id)) shownAt.set(comment.id, now);
    }
  });

  interface Sent {
    readonly sentAt: number;
    readonly measured: boolean;
    id?: string;
    answeredAt?: number;
  }
  const sent: Sent[] = [];
  let failed = 0;
  const interval = 1000 / load.rate;
  const warmup = Math.round(load.warmupSeconds * load.rate);
  const total = warmup + Math.round(load.seconds * load.rate);
  const inFlight: Promise<void>[] = [];
  const start = performance.now();
  let measuredStart = start;
  for (let i = 0; i < total; i += 1) {
    const wait = start + i * interval - performance.now();
    if (wait > 0) await delay(wait);
    if (i === warmup) measuredStart = performance.now();
    const postId = postIds[Math.floor(random() * postIds.length)]!;
    const content = `${sentence(random, 3, 12)}${random() < 0.1 ? ' Orange!' : ''}`;
    const record: Sent = { sentAt: performance.now(), measured: i >= warmup };
    sent.push(record);
    inFlight.push(
      callJson<PublicComment[]>(agent, 'POST', `${gatewayUrl}/posts/${postId}/comments`, { content }).then(
        (answer) => {
          if (answer.status !== 201) {
            failed += 1;
            return;
          }
          record.answeredAt = answer.at;
          record.id = answer.body[answer.body.length - 1]!.id;
        },
        () => {
          failed += 1;
        },
      ),
    );
  }
  const sendingMs = performance.now() - measuredStart;
  await Promise.all(inFlight);
  const drainUntil = performance.now() + DRAIN_MS;
  const measured = sent.filter((record) => record.measured);
  while (
    performance.now() < drainUntil &&
    measured.some((record) => record.id !== undefined && !shownAt.has(record.id))
  )
    await delay(20);
  stream.close();
  agent.destroy();

  const afterCreated: number[] = [];
  const post: number[] = [];
  const endToEnd: number[] = [];
  let missing = 0;
  let shownBefore201 = 0;
  for (const record of measured) {
    if (record.id === undefined || record.answeredAt === undefined) continue;
    post.push(record.answeredAt - record.sentAt);
    const shown = shownAt.get(record.id);
    if (shown === undefined) {
      missing += 1;
      continue;
    }
    if (shown < record.answeredAt) shownBefore201 += 1;
    afterCreated.push(Math.max(0, shown - record.answeredAt));
    endToEnd.push(shown - record.sentAt);
  }
  return {
    afterCreated: distribution(afterCreated),
    post: distribution(post),
    endToEnd: distribution(endToEnd),
    sent: measured.length,
    failed,
    missing,
    shownBefore201,
    rate: (measured.length / sendingMs) * 1000,
  };
}

/** Creates posts through the gateway, one at a time, and returns their ids. */
export async function createPosts(gatewayUrl: string, count: number): Promise<string[]> {
  const agent = new http.Agent({ keepAlive: true });
  const ids: string[] = [];
  for (let i = 0; i < count; i += 1) {
    const answer = await callJson<{ id: string }>(agent, 'POST', `${gatewayUrl}/posts/create`, {
      title: `Benchmark post ${i}`,
    });
    if (answer.status !== 201) throw new Error(`POST /posts/create answered ${answer.status}`);
    ids.push(answer.body.id);
  }
  agent.destroy();
  return ids;
}

export interface EventChainBench {
  readonly runs: readonly ChainResult[];
  /** CPU time each process used during each run (the bench's own process holds the gateway). */
  readonly cpuMs: readonly Record<string, number>[];
  /** Every process's memory after each run. */
  readonly memory: readonly Record<string, Memory>[];
  /** Warnings and errors the services logged during the runs. */
  readonly problems: readonly string[];
}

/** The whole system as `npm start` runs it, on free ports; identical latency runs one after another. */
export async function benchEventChain(
  workDir: string,
  load: ChainLoad,
  runs: number,
  posts: number,
): Promise<EventChainBench> {
  const problems: string[] = [];
  const system = await startSystem({
    port: 0,
    dataDir: path.join(workDir, 'event-chain-log'),
    log: (service, line) => {
      if (/^(WARN|ERROR|FATAL)/.test(line) && problems.length < 50) problems.push(`${service} | ${line}`);
    },
  });
  try {
    // The gateway is the bench's own process; 127.0.0.1 rather than the name keeps it off IPv6.
    const gatewayUrl = system.url.replace('localhost', '127.0.0.1');
    const postIds = await createPosts(gatewayUrl, posts);
    const results: ChainResult[] = [];
    const memory: Record<string, Memory>[] = [];
    const cpuMs: Record<string, number>[] = [];
    const pids: Record<string, number | undefined> = {
      ...Object.fromEntries(Object.entries(system.services).map(([name, service]) => [name, service.pid])),
      'bench+gateway': process.pid,
    };
    const cpuNow = () => Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, cpuMsOf(pid)]));
    for (let run = 0; run < runs; run += 1) {
      const before = cpuNow();
      results.push(await measureEventChain(gatewayUrl, postIds, load, 100 + run));
      const after = cpuNow();
      cpuMs.push(Object.fromEntries(Object.keys(after).map((name) => [name, after[name]! - before[name]!])));
      await delay(1000);
      memory.push(
        snapshot(Object.fromEntries(Object.entries(system.services).map(([name, service]) => [name, service.pid]))),
      );
    }
    return { runs: results, cpuMs, memory, problems };
  } finally {
    await system.stop();
  }
}
