import { batchJson } from './load';
import { pacedPosts, type PacedResult } from './paced';
import { forkHelper, nextMessage, startBus, stopChild, type BenchCredentials } from './processes';

interface SubscriberStats {
  readonly received: number;
  readonly last: number;
  readonly outOfOrder: number;
  readonly duplicates: number;
  readonly maxLagMs: number;
  readonly lags: number[];
}

export interface FanOutResult {
  readonly load: PacedResult;
  readonly head: number;
  readonly subscribers: readonly {
    readonly received: number;
    readonly inOrder: boolean;
    readonly duplicates: number;
    readonly maxLagMs: number;
    readonly p50LagMs: number;
    readonly p99LagMs: number;
  }[];
  /** From the end of publishing until every subscriber had every event. */
  readonly drainMs: number;
}

export interface FanOutOptions {
  readonly dataDir: string;
  readonly credentials: BenchCredentials;
  readonly subscribers: number;
  /** Events per second, published in requests of `perRequest` events. */
  readonly rate: number;
  readonly perRequest: number;
  readonly seconds: number;
  /** The SUBSCRIBERS options of every subscriber: `batch`, or '' for one event per request. */
  readonly options: string;
}

/** Publishes at a fixed rate while the bus fans out to subscribers in another process. */
export async function fanOut({
  dataDir,
  credentials,
  subscribers,
  rate,
  perRequest,
  seconds,
  options,
}: FanOutOptions): Promise<FanOutResult> {
  const host = await forkHelper<{ ports: number[] }>('subscriber-host.js', [String(subscribers)]);
  const list = host.first.ports
    .map((port, index) => `s${index}=http://127.0.0.1:${port}/events${options ? `|${options}` : ''}`)
    .join(',');
  const bus = await startBus(dataDir, credentials, { SUBSCRIBERS: list });
  try {
    const load = await pacedPosts(
      `${bus.url}/events`,
      rate / perRequest,
      seconds,
      (n) => batchJson('fan', n, perRequest),
      credentials.authorization('posts'),
    );
    const finished = performance.now();
    const head = ((await (await fetch(`${bus.viewsUrl}/flow?limit=1`)).json()) as { head: number }).head;
    let stats: SubscriberStats[] = [];
    const deadline = finished + 120_000;
    do {
      await new Promise((resolve) => setTimeout(resolve, 100));
      host.child.send('report');
      stats = (await nextMessage<{ stats: SubscriberStats[] }>(host.child)).stats;
    } while (stats.some((own) => own.last < head) && performance.now() < deadline);
    const drainMs = performance.now() - finished;
    return {
      load,
      head,
      drainMs,
      subscribers: stats.map((own) => {
        const sorted = [...own.lags].sort((a, b) => a - b);
        return {
          received: own.received,
          inOrder: own.outOfOrder === 0 && own.received === head,
          duplicates: own.duplicates,
          maxLagMs: own.maxLagMs,
          p50LagMs: sorted[Math.floor(sorted.length * 0.5)] ?? Number.NaN,
          p99LagMs: sorted[Math.floor(sorted.length * 0.99)] ?? Number.NaN,
        };
      }),
    };
  } finally {
    await bus.stop();
    await stopChild(host.child);
  }
}
