import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { NO_DELIVERY_FAULTS, type FaultSwitches, type SubscriptionStatus } from '@mini-blog/common/events';
import { SERVICE_NAMES, type ServiceName } from '@mini-blog/common/registry';
import { subscriptionStatus } from '@mini-blog/common/testing';

/** What the fake bus was asked: method, path and query, the Authorization header and the body. */
export interface Seen {
  method: string;
  url: string;
  authorization: string | undefined;
  body: unknown;
}

export interface FakeSystem {
  readonly busUrl: string;
  readonly viewsUrl: string;
  readonly serviceUrls: Record<ServiceName, string>;
  /** The admin routes' requests, in order. */
  readonly seen: Seen[];
  /** What GET /readyz answers, per service (200 unless set). */
  readonly readyStatus: Partial<Record<ServiceName, number>>;
  /** Writes one event to every open /flow/stream. */
  push(event: string, data: unknown): void;
  /** Writes text as it is to every open /flow/stream. */
  pushRaw(text: string): void;
  /** Resolves once a /flow/stream is open. */
  streamOpened(): Promise<void>;
  /** The next /admin/parked answers with this raw body instead. */
  rawParked?: string;
  /** What GET /flow answers when set (the newest `limit` of them); one event otherwise. */
  flowEvents?: { seq: number; type: string; id: string; time: string }[];
  /** The `limit` of each GET /flow. */
  readonly flowLimits: (string | null)[];
  /** The views serve GET /parked, as on JetStream (from its notices, without a credential). */
  parkedInViews?: boolean;
  /** The bus runs with FAULT_SWITCHES=on: /admin/faults answers, with these switches. */
  faultSwitches?: FaultSwitches;
  close(): Promise<void>;
}

export const ADMIN_TOKEN = 'admin-token-of-the-fake-bus-0123456789abcdef';

export const SUBSCRIPTIONS: SubscriptionStatus[] = [
  subscriptionStatus('posts', 5),
  subscriptionStatus('query', 3, {
    head: 5,
    lag: 2,
    inFlight: 1,
    attempts: 2,
    parked: 1,
    lastError: 'HTTP 500',
    lastErrorAt: '2026-12-01T08:00:00.000Z',
  }),
];

export const PARKED = [
  {
    subscriber: 'query',
    seq: 4,
    id: 'ev-4',
    type: 'CommentCreated',
    attempts: 5,
    reason: 'HTTP 422',
    parkedAt: '2026-12-01T08:00:00.000Z',
  },
];

/**
 * A stand-in for the bus as the team contract describes it: admin routes on its main port behind
 * `Authorization: Bearer`, the read-only views on a second listener, and one /readyz listener per
 * service. For what blogctl sends and how it reads the answers; the real bus is in the int test.
 */
export async function startFakeSystem(): Promise<FakeSystem> {
  const streams = new Set<ServerResponse>();
  let opened: () => void = () => {};
  let streamOpen = new Promise<void>((resolve) => (opened = resolve));
  const system: FakeSystem = {
    busUrl: '',
    viewsUrl: '',
    serviceUrls: {} as Record<ServiceName, string>,
    seen: [],
    readyStatus: {},
    flowLimits: [],
    push: (event, data) => {
      for (const res of streams) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    },
    pushRaw: (text) => {
      for (const res of streams) res.write(text);
    },
    streamOpened: () => streamOpen,
    close: async () => {},
  };

  /** The bus's switches, as its /admin/faults keeps them; 404 as the bus answers when they are off. */
  const faults = (method: string, path: string, body: unknown, res: ServerResponse) => {
    const switches = system.faultSwitches;
    if (!switches) return send(res, 404, { message: `${method} ${path}: no such route` });
    const name = /^\/admin\/faults\/deliveries\/([^/]+)$/.exec(path)?.[1];
    if (name && method === 'PATCH')
      system.faultSwitches = {
        ...switches,
        deliveries: {
          ...switches.deliveries,
          [name]: { ...NO_DELIVERY_FAULTS, ...switches.deliveries[name], ...(body as object) },
        },
      };
    if (path === '/admin/faults' && method === 'DELETE') system.faultSwitches = { deliveries: {}, log: { slowMs: 0 } };
    return send(res, 200, system.faultSwitches);
  };

  const answerMain = async (req: IncomingMessage, res: ServerResponse) => {
    const body = await readJson(req);
    const url = new URL(req.url ?? '/', 'http://bus');
    system.seen.push({
      method: req.method ?? '',
      url: url.pathname + url.search,
      authorization: req.headers.authorization,
      body,
    });
    if (req.headers.authorization !== `Bearer ${ADMIN_TOKEN}`) {
      return send(res, 401, { message: 'authorization: missing or unknown token' }, { 'www-authenticate': 'Bearer' });
    }
    if (url.pathname.startsWith('/admin/faults')) return faults(req.method ?? 'GET', url.pathname, body, res);
    const action = /^\/admin\/subscriptions\/([^/]+)\/(?:parked\/(\d+)\/(replay|skip)|cursor)$/.exec(url.pathname);
    if (url.pathname === '/admin/parked' && req.method === 'GET') {
      if (system.rawParked !== undefined) return sendRaw(res, 200, system.rawParked);
      return send(res, 200, {
        parked: PARKED.filter(
          (record) => !url.searchParams.get('subscriber') || record.subscriber === url.searchParams.get('subscriber'),
        ),
      });
    }
    if (!action) return send(res, 404, { message: `${req.method} ${url.pathname}: no such route` });
    const [, name, seq, verb] = action;
    if (!SUBSCRIPTIONS.some((subscription) => subscription.name === name))
      return send(res, 404, { message: `subscriber: no subscriber ${name}` });
    if (verb === 'replay') return send(res, 202, { subscriber: name, seq: Number(seq), status: 'replaying' });
    if (verb === 'skip') return send(res, 200, { subscriber: name, seq: Number(seq), status: 'skipped' });
    const cursor = (body as { cursor: number }).cursor;
    return send(res, 200, {
      ...SUBSCRIPTIONS.find((subscription) => subscription.name === name),
      cursor,
      lag: 5 - cursor,
    });
  };
  // A request the fake cannot read (a body that is not JSON) ends its connection.
  const main = createServer((req, res) => void answerMain(req, res).catch(() => res.destroy()));

  const views = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://views');
    if (url.pathname === '/subscriptions') return send(res, 200, SUBSCRIPTIONS);
    if (url.pathname === '/flow') {
      system.flowLimits.push(url.searchParams.get('limit'));
      if (system.flowEvents) {
        const limit = Number(url.searchParams.get('limit') ?? 100);
        return send(res, 200, { head: 5, events: system.flowEvents.slice(-limit) });
      }
      return send(res, 200, {
        head: 5,
        events: [{ seq: 5, type: 'PostCreated', id: 'ev-5', time: '2026-12-01T08:00:05.000Z' }],
      });
    }
    if (url.pathname === '/parked' && system.parkedInViews) {
      return send(res, 200, {
        parked: PARKED.filter(
          (record) =>
            !url.searchParams.get('subscriber') || record.subscriber.startsWith(url.searchParams.get('subscriber')!),
        ),
      });
    }
    if (url.pathname === '/flow/stream') {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(': keep-alive\n\n');
      streams.add(res);
      res.on('close', () => streams.delete(res));
      opened();
      streamOpen = new Promise<void>((resolve) => (opened = resolve));
      return;
    }
    return send(res, 404, { message: 'no such view' });
  });

  const services = Object.fromEntries(
    SERVICE_NAMES.map((name) => [
      name,
      createServer((_req, res) =>
        send(res, system.readyStatus[name] ?? 200, { ready: (system.readyStatus[name] ?? 200) === 200 }),
      ),
    ]),
  ) as Record<ServiceName, Server>;

  const servers = [main, views, ...Object.values(services)];
  const urlOf = async (server: Server) => {
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };
  Object.assign(system, {
    busUrl: await urlOf(main),
    viewsUrl: await urlOf(views),
    close: async () => {
      for (const res of streams) res.end();
      await Promise.all(
        servers.map(
          (server) =>
            new Promise((resolve) => {
              server.close(resolve);
              server.closeAllConnections();
            }),
        ),
      );
    },
  });
  for (const name of SERVICE_NAMES) system.serviceUrls[name] = await urlOf(services[name]);
  return system;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? (JSON.parse(text) as unknown) : undefined;
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  sendRaw(res, status, JSON.stringify(body), headers);
}

function sendRaw(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(body);
}

/** A loopback port nothing listens on (it was free a moment ago): connecting to it is refused. */
export async function closedPort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
