import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ADMIN, Principals, type Secrets } from '@mini-blog/common/auth';
import { EVENT_TYPES, type Envelope, type NewEvent } from '@mini-blog/common/events';
import { PUBLISHER_NAMES, SUBSCRIBER_NAMES } from '@mini-blog/common/registry';
import { silentLogger, type EventStreamLimits } from '@mini-blog/common/service';
import type { Express } from 'express';
import request from 'supertest';
import { EventBus, type EventBusOptions } from '../src/bus';
import {
  DEFAULT_PUBLISH_ACL,
  parsePublishAcl,
  registryKeyOwnership,
  type KeyOwnership,
  type PublishAcl,
  type SubscriberConfig,
} from '../src/config';
import type { Subscriber } from '../src/delivery/subscriber-loop';
import { createApp, createViewsApp } from '../src/http/app';

export function tempDir(): { path: string; remove(): void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'event-bus-test-'));
  return { path: dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export const postCreated = (n: number, id?: string): NewEvent => ({
  type: 'PostCreated',
  data: { id: `post-${n}`, title: `Post ${n}` },
  ...(id === undefined ? {} : { id }),
});

/** Publishes posts `from`, `from + 1`... (`count` of them) as posts, in one batch request. */
export const publishPostBatch = (test: TestBus, count: number, from = 1) =>
  test
    .as('posts')
    .post('/events')
    .send(Array.from({ length: count }, (_, index) => postCreated(from + index)))
    .expect(201);

/** The principals of the tests: the registry's publishers and subscribers, and admin. */
export const PRINCIPALS: readonly string[] = [...new Set([...PUBLISHER_NAMES, ...SUBSCRIBER_NAMES]), ADMIN];

/** For tests of something other than authorization: `tester` may publish every type, under any key. */
export const TESTER = 'tester';
export const TESTER_ACL = parsePublishAcl(`${TESTER}=${EVENT_TYPES.join('+')}`);
const testKeyOwnership: KeyOwnership = (principal, type, key) =>
  principal === TESTER || registryKeyOwnership(principal, type, key);

/** A principal's test secret: long enough for a credential file, different for each principal. */
export const secretOf = (principal: string): string => `${principal}-test-secret-`.padEnd(43, 'x');

/** The test secrets of these principals (and of any subscriber name a test makes up), or the `secrets` given for some. */
export const testPrincipals = (
  names: readonly string[] = PRINCIPALS,
  secrets: Readonly<Record<string, Secrets>> = {},
): Principals =>
  new Principals(new Map(names.map((name): [string, Secrets] => [name, secrets[name] ?? [secretOf(name)]])));

/** Writes a credential file per principal, as the launcher does: what the bus as a process reads. */
export function writeCredentials(dir: string, secrets: Readonly<Record<string, readonly string[]>>): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const [principal, lines] of Object.entries(secrets))
    writeFileSync(path.join(dir, principal), `${lines.join('\n')}\n`, { mode: 0o600 });
}

export interface TestBus {
  readonly bus: EventBus;
  /** The main port's app: publish, read, admin. */
  readonly app: Express;
  /** The read-only views' app. */
  readonly views: Express;
  readonly dataDir: string;
  /** Requests to the main app with this principal's token. */
  as(principal: string): ReturnType<typeof request.agent>;
  /** `POST /events` with this body, as a principal that may publish every type by default. */
  publish(body: unknown, principal?: string): request.Test;
  close(): Promise<void>;
}

export const FAST_DELIVERY = {
  poisonAttempts: 3,
  retryBaseMs: 10,
  retryMaxMs: 40,
  timeoutMs: 2000,
  cursorFlushMs: 20,
} as const;

export interface TestBusOptions extends Partial<EventBusOptions> {
  /** Who may publish what; the registry's table by default. */
  readonly acl?: PublishAcl;
  /** Other secrets than `secretOf` for some principals. */
  readonly principals?: Readonly<Record<string, Secrets>>;
  readonly flowThrottleMs?: number;
  readonly streamLimits?: EventStreamLimits;
  /** The fault switches under `/admin/faults` (`FAULT_SWITCHES=on`). */
  readonly faultSwitches?: boolean;
}

/** A started bus on a temporary data folder (or `dataDir`, to reopen one). */
export function openTestBus(
  subscribers: readonly Subscriber[] = [],
  {
    acl = parsePublishAcl(DEFAULT_PUBLISH_ACL),
    principals = {},
    flowThrottleMs,
    streamLimits,
    faultSwitches,
    ...options
  }: TestBusOptions = {},
): TestBus {
  const dir = options.dataDir === undefined ? tempDir() : undefined;
  const dataDir = options.dataDir ?? dir!.path;
  const logger = silentLogger();
  const bus = new EventBus({ ...FAST_DELIVERY, writer: 'inline', subscribers, ...options, dataDir }, logger);
  bus.start();
  const names = new Set<string>([...PRINCIPALS, ...subscribers.map((entry) => entry.name), ...acl.keys()]);
  const readers = new Set([...subscribers.map((entry) => entry.name), ADMIN]);
  const app = createApp({
    bus,
    logger,
    access: { principals: testPrincipals([...names], principals), acl, keys: testKeyOwnership, readers },
    faultSwitches,
  });
  return {
    bus,
    app,
    views: createViewsApp({ bus, logger, flowThrottleMs, streamLimits }),
    dataDir,
    as: (principal) => request.agent(app).set('authorization', `Bearer ${secretOf(principal)}`),
    publish: (body, principal = TESTER) =>
      request(app)
        .post('/events')
        .set('authorization', `Bearer ${secretOf(principal)}`)
        .send(body as object),
    close: async () => {
      await bus.close();
      dir?.remove();
    },
  };
}

/** A subscriber signed with its test secret. */
export const subscriber = (
  name: string,
  url: string,
  options: Partial<SubscriberConfig> & { secrets?: Secrets } = {},
): Subscriber => ({
  name,
  url,
  types: null,
  batch: false,
  mode: 'park',
  secrets: [secretOf(name)],
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
  /** The body of every answer; by default `{"status": <status>}`. */
  answerBody: string | undefined;
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
        const delivery = {
          events: Array.isArray(body) ? body : [body],
          batch: Array.isArray(body),
          cursor: Number(req.headers['x-bus-cursor']),
          headers: req.headers,
          raw,
          at: Date.now(),
        };
        const status = this.respond(delivery);
        this.deliveries.push({ ...delivery, status });
        res
          .writeHead(status, { 'content-type': 'application/json' })
          .end(this.answerBody ?? JSON.stringify({ status }));
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
