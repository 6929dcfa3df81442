import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { silentLogger, type Envelope, type NewEvent } from '@mini-blog/common';
import type { Express } from 'express';
import { createApp } from '../src/http/app';
import { EventBus, type EventBusOptions } from '../src/bus';
import type { SubscriberConfig } from '../src/config';

export function tempDir(): { path: string; remove(): void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'event-bus-test-'));
  return { path: dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export const postCreated = (n: number, id?: string): NewEvent => ({
  type: 'PostCreated',
  data: { id: `post-${n}`, title: `Post ${n}` },
  ...(id === undefined ? {} : { id }),
});

export interface TestBus {
  readonly bus: EventBus;
  readonly app: Express;
  readonly dataDir: string;
  close(): Promise<void>;
}

export const FAST_DELIVERY = { poisonAttempts: 3, retryBaseMs: 10, retryMaxMs: 40, timeoutMs: 2000, cursorFlushMs: 20 } as const;

/** A started bus on a temporary data folder (or `dataDir`, to reopen one). */
export function openTestBus(subscribers: readonly SubscriberConfig[] = [], options: Partial<EventBusOptions> = {}): TestBus {
  const dir = options.dataDir === undefined ? tempDir() : undefined;
  const dataDir = options.dataDir ?? dir!.path;
  const logger = silentLogger();
  const bus = new EventBus({ ...FAST_DELIVERY, writer: 'inline', subscribers, ...options, dataDir }, logger);
  bus.start();
  return {
    bus,
    app: createApp({ bus, logger }),
    dataDir,
    close: async () => {
      await bus.close();
      dir?.remove();
    },
  };
}

export const subscriber = (name: string, url: string, options: Partial<SubscriberConfig> = {}): SubscriberConfig => ({
  name,
  url,
  types: null,
  batch: false,
  mode: 'park',
  ...options,
});

export interface Delivery {
  readonly events: Envelope[];
  readonly batch: boolean;
  readonly cursor: number;
  readonly headers: IncomingHttpHeaders;
  /** The body as sent. */
  readonly raw: string;
  readonly at: number;
  /** What the subscriber answered. */
  readonly status: number;
}

/**
 * A subscriber on a free port that records every delivery. `respond` picks the status (2xx
 * acknowledges); it can be swapped while running. `stop`/`start` take it down and bring it back on
 * the same port.
 */
export class FakeSubscriber {
  readonly deliveries: Delivery[] = [];
  respond: (delivery: Omit<Delivery, 'status'>) => number = () => 200;
  /** TCP connections opened to this subscriber. */
  connections = 0;
  private server: Server | undefined;
  private port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}/events`;
  }

  /** The acknowledged events, in the order they arrived. */
  get received(): Envelope[] {
    return this.deliveries.filter((delivery) => delivery.status < 300).flatMap((delivery) => delivery.events);
  }

  async start(): Promise<this> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const body = JSON.parse(raw) as Envelope | Envelope[];
        const delivery = { events: Array.isArray(body) ? body : [body], batch: Array.isArray(body), cursor: Number(req.headers['x-bus-cursor']), headers: req.headers, raw, at: Date.now() };
        const status = this.respond(delivery);
        this.deliveries.push({ ...delivery, status });
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ status }));
      });
    });
    server.on('connection', () => {
      this.connections += 1;
    });
    server.listen(this.port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => server.once('listening', resolve).once('error', reject));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
    return this;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** Listens on a free port of 127.0.0.1; returns the base URL and a close function. */
export async function listen(app: Express): Promise<{ url: string; close(): Promise<void> }> {
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve, reject) => server.once('listening', resolve).once('error', reject));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A promise and the function that settles it: lets a test hold a step until it says go. */
export function deferred(): { promise: Promise<void>; resolve(): void } {
  let resolve!: () => void;
  const promise = new Promise<void>((settle) => {
    resolve = settle;
  });
  return { promise, resolve };
}
