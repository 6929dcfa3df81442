import { rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { benchmarkRun, describeFailure, scale, scaled } from '../cli';
import { compareWithCourseBus } from './course-bus-comparison';
import { benchEventChain } from './event-chain-latency';
import { growthTable } from './memory';
import { benchReadPath } from './read-path';
import { benchRebuild, REBUILT } from './rebuild';
import { describeLoad, mb, ms, perSecond, say, verdict } from './report';
import { reportRestart } from './restart-report';
import { CHAIN_P99_MS, tracingOverhead } from './tracing-overhead';

/**
 * The whole-system benchmarks (docs/benchmarks.md, "Whole system"): every service a real process
 * on 127.0.0.1, the way `npm start` runs them. Pick some with arguments (`latency read rebuild
 * restart course`); all run by default. BENCH_SCALE=0.1 shrinks every size and duration for a quick
 * check; BENCH_LARGE=1 adds the large sizes (restart at 5,000,000 events, the feed at 1,000,000
 * posts: many minutes); BENCH_CPU_PROF=folder profiles each service's first build (restart);
 * BENCH_JSON=file also writes the raw results there.
 */
const ALL = ['course', 'latency', 'read', 'rebuild', 'restart', 'tracing'] as const;

const large = process.env.BENCH_LARGE === '1';

async function main(): Promise<void> {
  const { run, workDir } = benchmarkRun(ALL, 'bench');
  const results: Record<string, unknown> = {
    node: process.version,
    cpus: cpus().length,
    scale,
    at: new Date().toISOString(),
  };
  say(
    `Whole-system benchmarks: Node ${process.version}, ${cpus().length} cores, scale ${scale}; work folder ${workDir}`,
  );

  try {
    if (run('course')) {
      const options = {
        loadSeconds: scaled(10),
        connections: 20,
        outageRate: 200,
        outageSeconds: 10,
        downFrom: 3,
        downUntil: 6,
        settleMs: 35_000,
      };
      say(
        `\n== The course's bus beside ours: 4 counting subscribers, ${options.connections} publishers for ${options.loadSeconds} s, then ${options.outageRate}/s for ${options.outageSeconds} s with one subscriber down from ${options.downFrom} s to ${options.downUntil} s ==`,
      );
      const result = await compareWithCourseBus(workDir, options);
      results.course = result;
      for (const [name, bus] of [
        ['course', result.course],
        ['ours', result.ours],
      ] as const) {
        say(
          `  ${name.padEnd(6)} publish ${perSecond(bus.publishPerSecond)} (p99 ${ms(bus.publishP99)}), ${bus.published} acknowledged; ` +
            `all delivered ${bus.allDeliveredAfterMs === undefined ? 'NOT within the wait' : `${ms(bus.allDeliveredAfterMs)} after the load`}; ` +
            `lost under load ${bus.lostUnderLoad}; subscriber down ${ms(bus.outage.downMs)}: lost ${bus.outage.lost} of ${bus.outage.published}` +
            `${bus.outage.caughtUpAfterMs === undefined ? '' : `, caught up ${ms(bus.outage.caughtUpAfterMs)} after it came back`}; RSS ${mb(bus.rss)}`,
        );
      }
      say(
        `  ratio ours/course publish throughput: ${(result.ours.publishPerSecond / result.course.publishPerSecond).toFixed(2)}`,
      );
    }

    if (run('tracing')) {
      // BENCH_RATES=300,400 measures other rates.
      const rates = (process.env.BENCH_RATES ?? '200,300,400,500,600,700').split(',').map(Number);
      const seconds = scaled(8);
      for (const transport of ['http', 'jetstream'] as const) {
        say(
          `\n== Tracing's cost, ${transport}: the sustained whole-chain rate with tracing off and on, alternating, 2 rounds; rates ${rates.join(', ')}/s, ${seconds} s each, kept while p99 (sent → verdict) < ${CHAIN_P99_MS} ms with nothing failed or lost ==`,
        );
        const runs = await tracingOverhead(workDir, transport, rates, seconds, 2);
        results[`tracing-${transport}`] = runs.map(({ tracing, best, steps }) => ({
          tracing,
          best,
          steps: steps.map(({ rate, kept, report, cpuMsPerComment }) => ({
            rate,
            kept,
            cpuMsPerComment,
            shown: report.comments.shown,
            sent: report.comments.sent,
          })),
        }));
        for (const { tracing, best, steps } of runs)
          say(
            `  tracing ${tracing.padEnd(3)}: highest rate kept ${best}/s; ${steps
              .map(
                ({ rate, report, cpuMsPerComment }) =>
                  `${rate}/s p50 ${ms(report.comments.shown.p50 ?? Number.NaN)} p99 ${ms(report.comments.shown.p99 ?? Number.NaN)}, CPU ${cpuMsPerComment.toFixed(2)} ms per comment`,
              )
              .join('; ')}`,
          );
        // On a machine other jobs share, the rate a system keeps is noise; the CPU each comment costs is not.
        const cpuOf = (tracing: 'off' | 'on') => {
          const all = runs.filter((run) => run.tracing === tracing).flatMap((run) => run.steps);
          return all.reduce((sum, step) => sum + step.cpuMsPerComment, 0) / Math.max(1, all.length);
        };
        say(
          `  CPU per comment: off ${cpuOf('off').toFixed(2)} ms, on ${cpuOf('on').toFixed(2)} ms: at the same CPU, tracing on keeps ${((cpuOf('off') / cpuOf('on')) * 100).toFixed(0)}% of the rate`,
        );
        const bestOf = (tracing: 'off' | 'on') =>
          Math.max(...runs.filter((run) => run.tracing === tracing).map((run) => run.best));
        const ratio = bestOf('off') === 0 ? 0 : bestOf('on') / bestOf('off');
        say(`  on/off: ${(ratio * 100).toFixed(0)}% of the rate kept; at least 90%: ${verdict(ratio >= 0.9)}`);
      }
    }

    if (run('latency')) {
      const load = { rate: 100, seconds: scaled(30), warmupSeconds: 3 };
      say(
        `\n== Event-chain latency: ${load.rate} comments/s for ${load.seconds} s through the gateway (after ${load.warmupSeconds} s of warm-up), 2 identical runs ==`,
      );
      const result = await benchEventChain(workDir, load, 2);
      results.latency = result;
      result.runs.forEach((chain, index) => {
        const { comments } = chain;
        say(
          `  run ${index + 1}: ${comments.sent} comments at ${chain.sentPerSecond.toFixed(1)}/s, ${comments.failed + comments.unanswered} failed, ${comments.missing} never shown moderated`,
        );
        say(`    sent → verdict on the live stream: ${describeLoad(comments.shown)}`);
        say(`    sent → 201:                        ${describeLoad(comments.request)}`);
        say(
          `    target p50 < 10 ms and p99 < 50 ms (sent → verdict): ${verdict((comments.shown.p50 ?? Infinity) < 10 && (comments.shown.p99 ?? Infinity) < 50)}`,
        );
        const cpu = result.cpuMs[index]!;
        say(
          `    CPU during the run (ms): ${Object.entries(cpu)
            .map(([name, value]) => `${name} ${Math.round(value)}`)
            .join(', ')}`,
        );
      });
      say('  RSS after each run:');
      for (const line of growthTable(result.memory)) say(line);
      if (result.problems.length > 0) say(`  services logged:\n    ${result.problems.join('\n    ')}`);
    }

    const readShapes = [
      { posts: scaled(100_000), comments: scaled(500_000) },
      ...(large ? [{ posts: scaled(1_000_000), comments: scaled(1_000_000) }] : []),
    ];
    for (const shape of run('read') ? readShapes : []) {
      const options = {
        shape,
        seconds: scaled(10),
        rounds: 2,
        connections: 10,
        latencyRate: 1000,
      };
      say(
        `\n== Read path: ${options.shape.posts} posts and ${options.shape.comments} comments in the read model; feed pages of 20 vs a bare Express 5 GET of one such page, ${options.connections} connections, ${options.rounds} × ${options.seconds} s each, alternating, then ${options.seconds} s each at ${options.latencyRate}/s ==`,
      );
      const result = await benchReadPath(workDir, options);
      results[`read-${shape.posts}`] = result;
      say(
        `  log: ${result.log.events} events written in ${ms(result.log.ms)}; query caught up in ${ms(result.queryReadyMs)}, RSS ${mb(result.queryMemory.rss)}`,
      );
      let bareTotal = 0;
      let feedTotal = 0;
      let feedP99 = 0;
      result.rounds.forEach(({ bare, feed }, index) => {
        bareTotal += bare.requestsPerSecond;
        feedTotal += feed.requestsPerSecond;
        feedP99 = Math.max(feedP99, feed.p99);
        say(
          `  round ${index + 1}: bare ${perSecond(bare.requestsPerSecond)} p99 ${ms(bare.p99)} (${Math.round(bare.bytesPerRequest)} B)` +
            ` | feed ${perSecond(feed.requestsPerSecond)} p99 ${ms(feed.p99)} (${Math.round(feed.bytesPerRequest)} B)` +
            `${bare.failures + feed.failures > 0 ? `  FAILURES ${bare.failures}/${feed.failures}` : ''}`,
        );
      });
      const ratio = feedTotal / bareTotal;
      const { atRate } = result;
      say(
        `  at ${options.latencyRate} requests/s: bare p50 ${ms(atRate.bare.p50)} p99 ${ms(atRate.bare.p99)} | feed p50 ${ms(atRate.feed.p50)} p99 ${ms(atRate.feed.p99)}`,
      );
      say(
        `  feed/bare requests/s: ${ratio.toFixed(2)}; feed p99 at ${options.latencyRate}/s ${ms(atRate.feed.p99)} (closed loop, worst round: ${ms(feedP99)}); target ≥ 0.70 and p99 < 10 ms: ${verdict(ratio >= 0.7 && atRate.feed.p99 < 10)}`,
      );
      const { cpuPerRequestMs } = result;
      say(
        `  CPU per request at ${options.latencyRate}/s: bare ${ms(cpuPerRequestMs.bare)}, feed ${ms(cpuPerRequestMs.feed)}: the feed costs ×${(cpuPerRequestMs.feed / cpuPerRequestMs.bare).toFixed(2)} (bare ÷ feed ${(cpuPerRequestMs.bare / cpuPerRequestMs.feed).toFixed(2)})`,
      );
      const { map } = result;
      say(
        `  GET /posts (course map): ${map.posts} posts, ${map.comments} comments, ${mb(map.bytes)} in ${ms(map.totalMs)} (first byte ${ms(map.firstByteMs)}); ` +
          `query RSS ${mb(map.rssBefore)} → peak ${mb(map.rssPeak)}`,
      );
      for (const [label, variant] of [
        ["no cache of posts' JSON (POST_CACHE_ENTRIES=0)", result.uncached],
        ['tracing off (OTEL_SDK_DISABLED=true)', result.untraced],
      ] as const) {
        say(
          `  with ${label}: bare ${perSecond(variant.bare.requestsPerSecond)} | feed ${perSecond(variant.feed.requestsPerSecond)} p99 ${ms(variant.feed.p99)}: ratio ${(variant.feed.requestsPerSecond / variant.bare.requestsPerSecond).toFixed(2)}; ` +
            `CPU per request bare ${ms(variant.cpuPerRequestMs.bare)}, feed ${ms(variant.cpuPerRequestMs.feed)} (bare ÷ feed ${(variant.cpuPerRequestMs.bare / variant.cpuPerRequestMs.feed).toFixed(2)})`,
        );
      }
    }

    if (run('rebuild')) {
      const shape = { posts: scaled(100_000), comments: scaled(300_000) };
      say(
        `\n== Rebuild: ${shape.posts} posts and ${shape.comments} comments (created, moderated, updated) = ${shape.posts + 3 * shape.comments} events; each service started alone, 2 identical runs ==`,
      );
      const result = await benchRebuild(workDir, shape, 2);
      results.rebuild = result;
      const counts = result.log.countsByType;
      say(`  log: ${result.log.events} events written in ${ms(result.log.ms)} (${JSON.stringify(counts)})`);
      result.runs.forEach((rebuild, index) => {
        for (const name of REBUILT) {
          const service = rebuild.services[name]!;
          say(
            `  run ${index + 1} ${name.padEnd(10)} ready in ${ms(service.readyMs)} (replay ${service.replayMs === undefined ? 'n/a' : ms(service.replayMs)}; CPU ${ms(service.cpuMs)}, bus CPU ${ms(service.busCpuMs)}), RSS ${mb(service.memory.rss)}, peak ${mb(service.memory.peak)}` +
              `${name === 'query' ? `; target < 10 s: ${verdict(service.readyMs < 10_000)}` : ''}`,
          );
        }
      });
      say('  RSS of every process once all were ready, run by run:');
      for (const line of growthTable(result.runs.map((rebuild) => rebuild.after))) say(line);
    }

    if (run('restart')) {
      const sizes = [0, 1_000_000, ...(large ? [5_000_000] : [])];
      // A tenth of the events are posts, the rest comments (three events each): 1,000,000 events are 100,000 posts and 300,000 comments.
      const shapes = sizes.map((events) =>
        events === 0 ? { posts: 0, comments: 0 } : { posts: scaled(events / 10), comments: scaled((events * 3) / 10) },
      );
      const options = { shapes, restarts: 3, cpuProfileDir: process.env.BENCH_CPU_PROF };
      say(
        `\n== Restart after kill -9: each service alone, first building its projection from seq 0 (the rebuild), then killed and started ${options.restarts} times, at ${sizes.map((events) => `${events.toLocaleString('en-US')}`).join(', ')} events ==`,
      );
      const result = await reportRestart(workDir, options);
      results.restart = result;
    }
  } finally {
    if (process.env.BENCH_JSON) writeFileSync(process.env.BENCH_JSON, `${JSON.stringify(results, null, 2)}\n`);
    rmSync(workDir, { recursive: true, force: true });
  }
}

// A helper process that dies can leave nothing to wait on: say so rather than end quietly.
let finished = false;
process.on('exit', (code) => {
  if (finished || code !== 0) return;
  process.stderr.write('system benchmarks: ended before finishing (a helper process died?)\n');
  process.exitCode = 1;
});

main().then(
  () => {
    finished = true;
    process.exit(0);
  },
  (err: unknown) => {
    process.stderr.write(`system benchmarks failed: ${describeFailure(err)}\n`);
    process.exit(1);
  },
);
