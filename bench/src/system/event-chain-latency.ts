import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { LoadReport } from '@mini-blog/blogctl';
import { REPO_ROOT, startSystem } from '@mini-blog/launcher';
import { snapshot } from './memory';
import { cpuMsOf, type Memory } from './processes';

export interface ChainLoad {
  /** Comments per second, sent on schedule whether or not earlier ones were answered (open loop). */
  readonly rate: number;
  readonly seconds: number;
  /** A load at the same rate before the measured one, not counted. */
  readonly warmupSeconds: number;
}

const BLOGCTL = path.join(REPO_ROOT, 'blogctl', 'bin', 'blogctl');

/**
 * One run of `blogctl load`, the load generator an operator runs, in a process of its own: comments
 * only, on `seedPosts` posts it makes first. Its report times each comment from the moment it was
 * due to be sent to its 201, and to the moderation's verdict on the live stream (comments → log →
 * moderation → log → comments and query → stream), both through the gateway as a browser goes.
 */
export async function generateLoad(
  gatewayUrl: string,
  { rate, seconds, seedPosts }: { rate: number; seconds: number; seedPosts: number },
): Promise<LoadReport> {
  const dir = mkdtempSync(path.join(tmpdir(), 'mini-blog-load-'));
  const reportFile = path.join(dir, 'report.json');
  try {
    const args = ['load', '--url', gatewayUrl, '--rate', String(rate), '--duration', `${seconds}s`, '--mix', '0:1'];
    const child = spawn(
      process.execPath,
      [BLOGCTL, ...args, '--seed-posts', String(seedPosts), '--report', reportFile],
      {
        stdio: ['ignore', process.env.BENCH_VERBOSE ? 'inherit' : 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    const status = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    if (status !== 0) throw new Error(`blogctl load exited ${status}: ${stderr.trim()}`);
    return JSON.parse(readFileSync(reportFile, 'utf8')) as LoadReport;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A warm-up (not counted) then the measured load. */
export async function measureEventChain(gatewayUrl: string, load: ChainLoad, seedPosts = 200): Promise<LoadReport> {
  if (load.warmupSeconds > 0)
    await generateLoad(gatewayUrl, { rate: load.rate, seconds: load.warmupSeconds, seedPosts: 10 });
  return generateLoad(gatewayUrl, { rate: load.rate, seconds: load.seconds, seedPosts });
}

export interface EventChainBench {
  readonly runs: readonly LoadReport[];
  /** CPU time each process used during each run (the bench's own process holds the gateway; the generator's is in its report). */
  readonly cpuMs: readonly Record<string, number>[];
  /** Every process's memory after each run. */
  readonly memory: readonly Record<string, Memory>[];
  /** Warnings and errors the services logged during the runs. */
  readonly problems: readonly string[];
}

/** The whole system as `npm start` runs it, on free ports; identical latency runs one after another. */
export async function benchEventChain(workDir: string, load: ChainLoad, runs: number): Promise<EventChainBench> {
  const problems: string[] = [];
  const system = await startSystem({
    port: 0,
    dataDir: path.join(workDir, 'event-chain-log'),
    log: (service, line) => {
      if (/^(WARN|ERROR|FATAL)/.test(line) && problems.length < 50) problems.push(`${service} | ${line}`);
    },
  });
  try {
    // 127.0.0.1 rather than the name keeps it off IPv6.
    const gatewayUrl = system.url.replace('localhost', '127.0.0.1');
    const results: LoadReport[] = [];
    const memory: Record<string, Memory>[] = [];
    const cpuMs: Record<string, number>[] = [];
    const pids: Record<string, number | undefined> = {
      ...Object.fromEntries(Object.entries(system.services).map(([name, service]) => [name, service.pid])),
      gateway: process.pid,
    };
    const cpuNow = () => Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, cpuMsOf(pid)]));
    for (let run = 0; run < runs; run += 1) {
      const before = cpuNow();
      const report = await measureEventChain(gatewayUrl, load);
      const after = cpuNow();
      results.push(report);
      cpuMs.push({
        ...Object.fromEntries(Object.keys(after).map((name) => [name, after[name]! - before[name]!])),
        generator: report.cpuMs,
      });
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
