import http from 'node:http';
import { runBenchmarks } from '../cli';
import axios from 'axios';
import type { NewEvent } from '@mini-blog/common/events';
import { createBusClient } from '@mini-blog/common/transport/http';
import { forkHelper, stopChild } from '../bus/processes';

/**
 * The bus client that `common` uses (node:http with kept-alive connections) beside axios with a
 * kept-alive agent, both publishing to the same bare Express route in another process, so that
 * only the client's own cost differs. Rounds alternate, so a noisy neighbour hurts both alike.
 * Reports publishes per second and this process's CPU time per publish (docs/architecture.md,
 * "The card's packages").
 */
const PUBLISHES = Number(process.env.CLIENT_PUBLISHES ?? 20_000);
const IN_FLIGHT = 16;
const ROUNDS = 3;

type Publish = (event: NewEvent) => Promise<unknown>;

async function measure(publish: Publish): Promise<{ perSecond: number; cpuMicros: number }> {
  let next = 0;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < PUBLISHES) {
        next += 1;
        await publish({
          type: 'PostCreated',
          id: `bench-${next}`,
          data: { id: `p${next}`, title: 'a title of a usual length' },
        });
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  return { perSecond: PUBLISHES / seconds, cpuMicros: (cpu.user + cpu.system) / PUBLISHES };
}

async function main(): Promise<void> {
  const { child, first } = await forkHelper<{ port: number }>('../bus/bare-express-server.js');
  const url = `http://127.0.0.1:${first.port}`;
  try {
    const ours = createBusClient({ url, retries: 0 });
    const agent = new http.Agent({ keepAlive: true, maxSockets: IN_FLIGHT });
    const viaAxios = axios.create({ baseURL: url, httpAgent: agent, timeout: 10_000 });
    const clients: Record<string, Publish> = {
      'common (node:http, keep-alive)': (event) => ours.publish(event),
      'axios (keep-alive agent)': (event) => viaAxios.post('/events', event),
    };
    // One unmeasured round each: the JIT and the connections warm up.
    for (const publish of Object.values(clients)) await measure(publish);
    const results = new Map<string, { perSecond: number; cpuMicros: number }[]>();
    for (let round = 0; round < ROUNDS; round += 1) {
      for (const [name, publish] of Object.entries(clients)) {
        results.set(name, [...(results.get(name) ?? []), await measure(publish)]);
      }
    }
    process.stdout.write(
      `${PUBLISHES.toLocaleString('en-US')} publishes per round, ${IN_FLIGHT} in flight, ${ROUNDS} rounds (median)\n`,
    );
    const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
    for (const [name, runs] of results) {
      const perSecond = median(runs.map((run) => run.perSecond));
      const cpu = median(runs.map((run) => run.cpuMicros));
      process.stdout.write(
        `  ${name.padEnd(32)} ${Math.round(perSecond).toLocaleString('en-US').padStart(7)} publishes/s   ${cpu.toFixed(1).padStart(6)} µs CPU per publish\n`,
      );
    }
    agent.destroy();
  } finally {
    await stopChild(child);
  }
}

runBenchmarks(main);
