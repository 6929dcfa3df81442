import { batchJson } from './load';

/** Fills the log with `count` events through batch publishes, `parallel` requests at a time, as the publisher `authorization`. */
export async function fillLog(
  busUrl: string,
  authorization: Record<string, string>,
  count: number,
  batch = 1000,
  parallel = 4,
): Promise<void> {
  let next = 0;
  const batches = Math.ceil(count / batch);
  const worker = async () => {
    for (let n = next++; n < batches; n = next++) {
      const res = await fetch(`${busUrl}/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...authorization },
        body: batchJson('fill', n, batch),
      });
      if (res.status !== 201)
        throw new Error(`filling the log: POST /events answered ${res.status}: ${await res.text()}`);
      await res.arrayBuffer();
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
}

export interface ReplayResult {
  readonly events: number;
  readonly seconds: number;
  readonly perSecond: number;
}

/** Reads the whole log as a consumer's catch-up does: pages of `limit`, each parsed, as the reader `authorization`. */
export async function pagedReplay(
  busUrl: string,
  authorization: Record<string, string>,
  limit: number,
): Promise<ReplayResult> {
  const started = performance.now();
  let after = 0;
  let events = 0;
  for (;;) {
    const res = await fetch(`${busUrl}/events?after=${after}&limit=${limit}`, { headers: authorization });
    if (res.status !== 200) throw new Error(`paged replay: GET /events answered ${res.status}: ${await res.text()}`);
    const page = (await res.json()) as { events: { seq: number }[]; next: number; head: number };
    events += page.events.length;
    if (page.events.length > 0 && page.events[page.events.length - 1]!.seq !== after + page.events.length) {
      throw new Error(`paged replay: a page after ${after} is not consecutive`);
    }
    after = page.next;
    if (after >= page.head) break;
  }
  const seconds = (performance.now() - started) / 1000;
  return { events, seconds, perSecond: events / seconds };
}

/** Reads the course's `GET /events` (every event as one array), parsed whole as the course's query service does. */
export async function streamedReplay(busUrl: string, authorization: Record<string, string>): Promise<ReplayResult> {
  const started = performance.now();
  const res = await fetch(`${busUrl}/events`, { headers: authorization });
  const all = (await res.json()) as unknown[];
  const seconds = (performance.now() - started) / 1000;
  return { events: all.length, seconds, perSecond: all.length / seconds };
}
