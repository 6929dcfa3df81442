import { connect, nanos, StorageType } from 'nats';
import { eventJson } from './load';

export interface NatsResult {
  readonly acked: number;
  readonly perSecond: number;
}

/**
 * JetStream acknowledged publishes: `inFlight` publishers each awaiting the server's ack before
 * the next, every message with a `msgID` so the stream deduplicates re-sends as the bus does.
 */
export async function natsPublishRate(url: string, seconds: number, inFlight: number): Promise<NatsResult> {
  const connection = await connect({ servers: url });
  try {
    const manager = await connection.jetstreamManager();
    await manager.streams.add({
      name: 'BENCH',
      subjects: ['bench.events'],
      storage: StorageType.File,
      duplicate_window: nanos(120_000),
    });
    const jetstream = connection.jetstream();
    const encoder = new TextEncoder();
    let next = 0;
    let acked = 0;
    const publishFor = async (ms: number, count: boolean) => {
      const deadline = performance.now() + ms;
      while (performance.now() < deadline) {
        const n = next++;
        await jetstream.publish('bench.events', encoder.encode(eventJson('nats', n)), { msgID: `nats-${n}` });
        if (count) acked += 1;
      }
    };
    await Promise.all(Array.from({ length: inFlight }, () => publishFor(2000, false)));
    const started = performance.now();
    await Promise.all(Array.from({ length: inFlight }, () => publishFor(seconds * 1000, true)));
    return { acked, perSecond: acked / ((performance.now() - started) / 1000) };
  } finally {
    await connection.close();
  }
}
