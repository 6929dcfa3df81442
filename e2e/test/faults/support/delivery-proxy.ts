import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import {
  BUS_CURSOR_HEADER,
  BUS_DELIVERY_ID_HEADER,
  BUS_SIGNATURE_HEADER,
  BUS_TIMESTAMP_HEADER,
} from '@mini-blog/common/auth';
import { signedDeliveryHeaders } from '@mini-blog/common/testing';

/**
 * How the proxy treats the bus's deliveries:
 * - `forward`: passes each one to the target and answers with the target's answer;
 * - `refuse`: answers 503 at once, as a subscriber that is down;
 * - `slow`: answers 200 after `ms` without forwarding, as a subscriber that takes its time;
 * - `chaos`: acknowledges at once, then sends the deliveries to the target shuffled, some of them
 *   twice and some old ones again, half of them without the bus's cursor header (signed again with
 *   `signingSecrets`, as a bus that sends no cursor would sign them), each retried until the target
 *   takes it (nothing is lost, only repeated and reordered).
 */
export type ProxyMode =
  | { readonly kind: 'forward' }
  | { readonly kind: 'refuse' }
  | { readonly kind: 'slow'; readonly ms: number }
  | { readonly kind: 'chaos'; readonly window: number; readonly duplicateRate: number; readonly staleRate: number };

interface Delivery {
  readonly body: Buffer;
  readonly cursor: string | undefined;
  /** The bus's signature headers, passed on as they came: the subscriber refuses a delivery without them. */
  readonly signature: Record<string, string>;
  readonly seqs: readonly number[];
}

export interface ChaosFigures {
  /** Deliveries the bus made to the proxy. */
  received: number;
  /** Requests the proxy made to the target, duplicates included. */
  sent: number;
  /** Extra copies sent right away, and old deliveries sent again later. */
  duplicates: number;
  stale: number;
  /** Requests whose events came after a later event had already been sent. */
  outOfOrder: number;
  /** Requests sent without the x-bus-cursor header. */
  withoutCursor: number;
}

const SIGNATURE_HEADERS = [BUS_DELIVERY_ID_HEADER, BUS_TIMESTAMP_HEADER, BUS_SIGNATURE_HEADER];

function seqsOf(body: Buffer): number[] {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as unknown;
    const items = Array.isArray(parsed) ? parsed : [parsed];
    return items.map((item) => Number((item as { seq?: unknown }).seq)).filter(Number.isSafeInteger);
  } catch {
    return [];
  }
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A stand-in for a subscriber's `POST /events`, between the bus and the subscriber (or instead of it). */
export class DeliveryProxy {
  mode: ProxyMode = { kind: 'forward' };
  /** The subscriber's `/events` URL; set after the system has started. */
  target: string | undefined;
  /** The seqs the bus delivered, in the order they arrived (retries included). */
  readonly received: number[] = [];
  /** The seqs the target acknowledged, in order (forward and chaos modes). */
  readonly acknowledged: number[] = [];
  /** Answers of the target other than 2xx, in chaos mode (a 4xx for a valid event is a bug). */
  readonly rejections: string[] = [];
  readonly chaos: ChaosFigures = { received: 0, sent: 0, duplicates: 0, stale: 0, outOfOrder: 0, withoutCursor: 0 };
  /** The subscriber's secrets: the cursor is signed with the body, so a delivery sent without it needs its own signature. */
  signingSecrets: readonly string[] | undefined;
  private readonly history: Delivery[] = [];
  private buffer: Delivery[] = [];
  private flushTimer: NodeJS.Timeout | undefined;
  private readonly slowTimers = new Set<NodeJS.Timeout>();
  private inFlight = 0;
  private highestSent = 0;
  private closed = false;

  private constructor(private readonly server: Server) {}

  static async start(): Promise<DeliveryProxy> {
    const server = createServer();
    const proxy = new DeliveryProxy(server);
    server.on('request', (req, res) => {
      proxy.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ message: `proxy: ${(err as Error).message}` }));
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return proxy;
  }

  /** The URL to give the bus as the subscriber's. */
  get url(): string {
    const address = this.server.address();
    return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/events`;
  }

  /** True when every delivery taken in chaos mode has been acknowledged by the target. */
  get drained(): boolean {
    return this.buffer.length === 0 && this.inFlight === 0;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.flushTimer);
    for (const timer of this.slowTimers) clearTimeout(timer);
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const cursor = req.headers[BUS_CURSOR_HEADER];
    const signature = Object.fromEntries(
      SIGNATURE_HEADERS.flatMap((name) => (typeof req.headers[name] === 'string' ? [[name, req.headers[name]]] : [])),
    );
    const delivery: Delivery = {
      body,
      cursor: typeof cursor === 'string' ? cursor : undefined,
      signature,
      seqs: seqsOf(body),
    };
    this.received.push(...delivery.seqs);
    const reply = (status: number, payload: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(payload));
    };
    const mode = this.mode;
    switch (mode.kind) {
      case 'refuse':
        reply(503, { message: 'proxy: the subscriber is down' });
        return;
      case 'slow': {
        const timer = setTimeout(() => {
          this.slowTimers.delete(timer);
          reply(200, { status: 'ok' });
        }, mode.ms);
        this.slowTimers.add(timer);
        return;
      }
      case 'forward': {
        if (!this.target) {
          reply(503, { message: 'proxy: no target yet' });
          return;
        }
        const answer = await this.post(delivery, true);
        if (answer.status >= 200 && answer.status < 300) this.acknowledged.push(...delivery.seqs);
        res.writeHead(answer.status, { 'content-type': 'application/json' });
        res.end(answer.text);
        return;
      }
      case 'chaos':
        this.chaos.received += 1;
        this.history.push(delivery);
        this.buffer.push(delivery);
        reply(200, { status: 'ok' });
        if (this.buffer.length >= mode.window) this.flush(mode);
        else this.flushTimer ??= setTimeout(() => this.flush(mode), 5);
    }
  }

  private flush(mode: Extract<ProxyMode, { kind: 'chaos' }>): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    const sends: Delivery[] = [];
    for (const delivery of this.buffer.splice(0)) {
      sends.push(delivery);
      if (Math.random() < mode.duplicateRate) {
        sends.push(delivery);
        this.chaos.duplicates += 1;
      }
      if (Math.random() < mode.staleRate) {
        sends.push(this.history[Math.floor(Math.random() * this.history.length)]!);
        this.chaos.stale += 1;
      }
    }
    for (let index = sends.length - 1; index > 0; index -= 1) {
      const other = Math.floor(Math.random() * (index + 1));
      [sends[index], sends[other]] = [sends[other]!, sends[index]!];
    }
    for (const delivery of sends) void this.sendUntilTaken(delivery);
  }

  private async sendUntilTaken(delivery: Delivery): Promise<void> {
    this.inFlight += 1;
    const keepCursor = Math.random() < 0.5;
    const highest = Math.max(0, ...delivery.seqs);
    if (highest < this.highestSent) this.chaos.outOfOrder += 1;
    this.highestSent = Math.max(this.highestSent, highest);
    if (!keepCursor) this.chaos.withoutCursor += 1;
    try {
      for (let attempt = 1; !this.closed; attempt += 1) {
        this.chaos.sent += 1;
        const answer = await this.post(delivery, keepCursor);
        if (answer.status >= 200 && answer.status < 300) {
          this.acknowledged.push(...delivery.seqs);
          return;
        }
        if (answer.status >= 400 && answer.status < 500) {
          this.rejections.push(`seq ${delivery.seqs.join(',')}: ${answer.status} ${answer.text.slice(0, 200)}`);
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 20 * attempt)));
      }
    } finally {
      this.inFlight -= 1;
    }
  }

  private async post(delivery: Delivery, withCursor: boolean): Promise<{ status: number; text: string }> {
    const headers: Record<string, string> = { 'content-type': 'application/json', ...delivery.signature };
    if (withCursor && delivery.cursor !== undefined) headers[BUS_CURSOR_HEADER] = delivery.cursor;
    else if (delivery.cursor !== undefined) {
      if (!this.signingSecrets)
        throw new Error('proxy: signingSecrets are needed to send a delivery without its cursor');
      const id = headers[BUS_DELIVERY_ID_HEADER]!;
      Object.assign(headers, signedDeliveryHeaders(this.signingSecrets, { id, body: delivery.body }));
    }
    try {
      const res = await fetch(this.target!, {
        method: 'POST',
        headers,
        body: delivery.body,
        signal: AbortSignal.timeout(10_000),
      });
      return { status: res.status, text: await res.text() };
    } catch (err) {
      return { status: 502, text: JSON.stringify({ message: `proxy: ${(err as Error).message}` }) };
    }
  }
}
