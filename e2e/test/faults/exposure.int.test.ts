import { randomUUID } from 'node:crypto';
import { hostileQuery, hostileRequest, NEW_EVENT_SPECS, waitFor } from '@mini-blog/common/testing';
import fc from 'fast-check';
import { startFaultSystem, type FaultSystem } from './support/fault-system';
import { recordFigures } from './support/figures';
import { call, getJson, rawRequest, StreamReader, type Answer } from './support/http';
import { isLoopback, listeningAddresses } from './support/listening';
import { subscriptions } from './support/subscriptions';
import type { CourseMap } from './support/verify';

/**
 * What the outside world can reach through the gateway (which routes as the ingress does), and
 * what the bus itself does with hostile input:
 * - the bus's POST /events and its admin routes are not reachable, however the path is written;
 * - no read-only view shows the content of a pending or rejected comment (checked on raw bodies);
 * - the client is served with a Content-Security-Policy that allows only its own origin;
 * - bodies over the limits get 413, and nothing is stored;
 * - forged events change nothing: no publish without the publisher's credential and type, no
 *   delivery without the bus's signature (the moderation bypass and the frozen service);
 * - the bus's own POST /events refuses hostile input with a 4xx and stores nothing.
 */

jest.setTimeout(120_000);

const JSON_TYPE = { 'content-type': 'application/json' };
let fault: FaultSystem;

beforeAll(async () => {
  fault = await startFaultSystem({ name: 'exposure' });
});

afterAll(async () => {
  await fault?.stop();
});

const head = async () =>
  (await getJson<{ head: number }>(fault.bus, '/events?after=0&limit=1', 10_000, fault.auth('admin'))).head;

async function createPost(title: string): Promise<string> {
  const answer = await call(fault.gateway, 'POST', '/posts/create', { title });
  expect(answer.status).toBe(201);
  return (answer.json as { id: string }).id;
}

async function comment(postId: string, content: string): Promise<{ id: string; answer: Answer }> {
  const answer = await call(fault.gateway, 'POST', `/posts/${postId}/comments`, { content });
  expect(answer.status).toBe(201);
  const list = answer.json as { id: string }[];
  return { id: list[list.length - 1]!.id, answer };
}

function commentShows(postId: string, commentId: string, status: string) {
  return waitFor(
    async () =>
      (await getJson<CourseMap>(fault.gateway, '/posts'))[postId]?.comments.some(
        (shown) => shown.id === commentId && shown.status === status,
      ),
    `comment ${commentId} to be ${status} in GET /posts`,
    { timeoutMs: 15_000 },
  );
}

describe('on this machine', () => {
  it('listens on loopback only: every service and the gateway', () => {
    const services = Object.values(fault.system.services);
    const gateway = fault.system.gateway.address();
    const listening = [
      ...services.map((service) => ({ name: service.spec.name, addresses: listeningAddresses(service.pid!) })),
      {
        name: 'gateway',
        addresses: typeof gateway === 'object' && gateway ? [`${gateway.address}:${gateway.port}`] : [],
      },
    ];

    expect(listening.filter(({ addresses }) => addresses.length === 0).map(({ name }) => name)).toEqual([]);
    expect(listening.filter(({ addresses }) => !addresses.every(isLoopback))).toEqual([]);
  });
});

describe('through the gateway', () => {
  it("does not reach the bus's POST /events or its admin routes, however the path is written", async () => {
    const event = JSON.stringify({
      type: 'PostCreated',
      id: 'PostCreated:forged',
      data: { id: 'forged', title: 'forged through the gateway' },
    });
    const cursor = JSON.stringify({ cursor: 0 });
    const attempts: [string, string, string?][] = [
      ['POST', '/events', event],
      ['POST', '/events', `[${event}]`],
      ['POST', '/Events', event],
      ['POST', '//events', event],
      ['POST', '/events/', event],
      ['POST', '/%65vents', event],
      ['POST', '/posts/../events', event],
      ['POST', '/subscriptions/../events', event],
      ['POST', '/flow/..%2fevents', event],
      ['POST', '/subscriptions/%2e%2e/events', event],
      ['POST', '/subscriptions', event],
      ['POST', '/flow', event],
      ['GET', '/events'],
      ['GET', '/events?after=0&limit=10'],
      ['GET', '/admin/parked'],
      ['GET', '/subscriptions/../admin/parked'],
      ['GET', '/metrics'],
      ['POST', '/admin/subscriptions/query/parked/1/replay'],
      ['POST', '/admin/subscriptions/query/parked/1/skip'],
      ['PUT', '/admin/subscriptions/query/cursor', cursor],
      ['PUT', '/ADMIN/subscriptions/query/cursor', cursor],
      ['PUT', '/subscriptions/../admin/subscriptions/query/cursor', cursor],
      ['PUT', '/subscriptions/query/cursor', cursor],
      ['PUT', '/flow/../admin/subscriptions/query/cursor', cursor],
      ['DELETE', '/subscriptions'],
    ];
    const headBefore = await head();
    const cursorsBefore = await subscriptions(fault.busViews);

    const answers = await Promise.all(
      attempts.map(async ([method, target, body]) => ({
        request: `${method} ${target}`,
        answer: await rawRequest(
          fault.gateway,
          method,
          target,
          body === undefined ? {} : JSON_TYPE,
          Buffer.from(body ?? ''),
        ),
      })),
    );

    const reachedTheBus = answers.filter(
      ({ request, answer }) =>
        (request.startsWith('GET') ? false : answer.status < 400) ||
        /"(events|parked|seq|cursor|results)"|forged|event_bus_|^# HELP/m.test(answer.text),
    );
    expect(
      reachedTheBus.map(({ request, answer }) => `${request} → ${answer.status} ${answer.text.slice(0, 120)}`),
    ).toEqual([]);
    expect(await head()).toBe(headBefore);
    // No cursor was moved back (a reset through the gateway would have).
    const cursorsAfter = await subscriptions(fault.busViews);
    expect(
      [...cursorsBefore]
        .filter(([name, status]) => cursorsAfter.get(name)!.cursor < status.cursor)
        .map(([name]) => name),
    ).toEqual([]);
  });

  it('shows no content of a pending or rejected comment on any read-only view', async () => {
    const token = randomUUID().slice(0, 8);
    const rejectedText = `rejected ${token} with an orange`;
    const pendingText = `pending ${token} still unseen`;
    const approvedText = `approved ${token} for all to see`;
    const postId = await createPost(`exposure ${token}`);
    const approved = await comment(postId, approvedText);
    const rejected = await comment(postId, rejectedText);
    await commentShows(postId, approved.id, 'approved');
    await commentShows(postId, rejected.id, 'rejected');

    await fault.system.services.moderation.stop();
    const postStream = new StreamReader(`${fault.gateway}/posts/stream`);
    const flowStream = new StreamReader(`${fault.gateway}/flow/stream`);
    try {
      await postStream.waitFor((text) => text.includes('event: hello'), 'the posts stream to open');
      await flowStream.waitFor((text) => text.includes('retry:'), 'the flow stream to open');
      const pending = await comment(postId, pendingText);
      await postStream.waitFor((text) => text.includes(pending.id), 'the posts stream to show the pending comment');
      await flowStream.waitFor(
        (text) => text.includes(`CommentCreated:${pending.id}`),
        'the flow stream to show the pending comment',
      );
      const replay = new StreamReader(`${fault.gateway}/posts/stream`, { 'last-event-id': '1' });
      await replay.waitFor(
        (text) => text.includes(pending.id),
        'a stream resumed from seq 1 to replay the pending comment',
      );
      await replay.close();

      const views: Record<string, string> = {
        'POST /posts/:id/comments (201)': pending.answer.text,
        'GET /posts/stream': postStream.text,
        'GET /posts/stream from seq 1': replay.text,
        'GET /flow/stream': flowStream.text,
      };
      for (const target of [
        '/posts',
        '/posts/feed',
        '/posts/feed?limit=100',
        `/posts/${postId}/comments`,
        '/subscriptions',
        '/flow',
        '/flow?after=0&limit=1000',
        '/events',
        '/events?after=0',
      ]) {
        const answer = await call(fault.gateway, 'GET', target);
        views[`GET ${target} (${answer.status})`] = answer.text;
      }

      const leaks = Object.entries(views).filter(
        ([, text]) =>
          text.includes(pendingText) ||
          text.includes(rejectedText) ||
          text.includes(`rejected ${token}`) ||
          text.includes(`pending ${token}`),
      );
      expect(leaks.map(([view]) => view)).toEqual([]);
      // The check can see content: the approved comment shows where comments are listed.
      expect(views['GET /posts (200)']).toContain(approvedText);
      expect(views[`GET /posts/${postId}/comments (200)`]).toContain(approvedText);
    } finally {
      await postStream.close();
      await flowStream.close();
      fault.system.services.moderation.start();
      await fault.system.waitReady('moderation');
    }
  });

  it('serves the client with a Content-Security-Policy that allows only its own origin', async () => {
    const page = await call(fault.gateway, 'GET', '/', undefined, { headers: { accept: 'text/html' } });
    const script = /<script[^>]+src="(\/assets\/[^"]+\.js)"/.exec(page.text)?.[1];
    expect(script).toBeDefined();
    const asset = await call(fault.gateway, 'GET', script!);
    const route = await call(fault.gateway, 'GET', '/some/client/route', undefined, {
      headers: { accept: 'text/html' },
    });

    for (const answer of [page, asset, route]) {
      expect(answer.status).toBe(200);
      const policy = answer.headers.get('content-security-policy') ?? '';
      const directives = new Map(
        policy
          .split(';')
          .map((part) => part.trim().split(/\s+/))
          .map(([name, ...sources]) => [name!, sources]),
      );
      expect(directives.get('default-src')).toEqual(["'self'"]);
      expect(directives.get('frame-ancestors')).toEqual(["'none'"]);
      expect(directives.get('object-src')).toEqual(["'none'"]);
      const foreign = [...directives].filter(([, sources]) =>
        sources.some((source) => source !== "'self'" && source !== "'none'"),
      );
      expect(foreign).toEqual([]);
      expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
    }
  });

  it('answers 413 for bodies over the limits and stores nothing', async () => {
    const postId = await createPost('body limits');
    const before = await head();
    const padding = 'x'.repeat(101 * 1024);

    const answers = {
      'POST /posts/create': await call(fault.gateway, 'POST', '/posts/create', { title: 'too big', padding }),
      'POST /posts/:id/comments': await call(fault.gateway, 'POST', `/posts/${postId}/comments`, {
        content: 'too big',
        padding,
      }),
      'POST /events on the bus (1 MB limit)': await call(
        fault.bus,
        'POST',
        '/events',
        { type: 'PostCreated', data: { id: 'big', title: 'big' }, padding: 'x'.repeat(1024 * 1024 + 1) },
        { headers: fault.auth('posts') },
      ),
      'POST /events on query': await call(fault.system.services.query.url, 'POST', '/events', { padding }),
    };
    const fieldTooLong = await call(fault.gateway, 'POST', `/posts/${postId}/comments`, { content: 'y'.repeat(1001) });

    for (const [route, answer] of Object.entries(answers)) {
      const limit = route.startsWith('POST /events on the bus') ? 1024 * 1024 : 100 * 1024;
      expect({ route, status: answer.status, body: answer.json }).toEqual({
        route,
        status: 413,
        body: { message: `body: must be at most ${limit} bytes` },
      });
    }
    expect(fieldTooLong.json).toEqual({
      message: 'content: must be at most 1000 characters',
      fields: { content: 'must be at most 1000 characters' },
    });
    expect(await head()).toBe(before);
  });
});

describe('forged events, as an attacker on the same machine or network would send them', () => {
  it("change nothing: the bus refuses a publish without the publisher's credential, a service refuses an unsigned delivery", async () => {
    const postId = await createPost('forgery target');
    const rejected = await comment(postId, 'an orange, rejected');
    await commentShows(postId, rejected.id, 'rejected');
    const approve = {
      type: 'CommentModerated',
      id: `CommentModerated:forged-${rejected.id}`,
      data: { id: rejected.id, postId, content: 'an orange, rejected', status: 'approved' },
    };
    const rewrite = {
      type: 'CommentUpdated',
      id: `CommentUpdated:forged-${rejected.id}`,
      data: { id: rejected.id, postId, content: 'rewritten', status: 'approved' },
    };
    const freeze = {
      seq: 9007199254740990,
      id: 'PostCreated:freeze',
      type: 'PostCreated',
      data: { id: 'freeze', title: 'freeze' },
      time: new Date().toISOString(),
    };
    const bearer = (token: string) => ({ ...JSON_TYPE, authorization: `Bearer ${token}` });
    const as = (principal: string) => ({ ...JSON_TYPE, ...fault.auth(principal) });
    const forgeries: [string, string, string, Record<string, string>, unknown, number][] = [
      ['publish an approval without a token', fault.bus, '/events', JSON_TYPE, approve, 401],
      ['publish an approval with a made-up token', fault.bus, '/events', bearer('x'.repeat(43)), approve, 401],
      ["publish an approval with posts' token", fault.bus, '/events', as('posts'), approve, 403],
      [
        "publish an approval with query's token (a subscriber, no publisher)",
        fault.bus,
        '/events',
        as('query'),
        approve,
        403,
      ],
      ["publish a rewrite with moderation's token", fault.bus, '/events', as('moderation'), rewrite, 403],
      [
        "publish a batch with one type posts may not publish, with posts' token",
        fault.bus,
        '/events',
        as('posts'),
        [{ type: 'PostCreated', data: { id: 'ok', title: 'ok' } }, approve],
        403,
      ],
      ['read the log without a token', fault.bus, '/events?after=0', {}, undefined, 401],
      [
        'read the log with a made-up token',
        fault.bus,
        '/events?after=0',
        { authorization: `Bearer ${'x'.repeat(43)}` },
        undefined,
        401,
      ],
      [
        'deliver an approval to query, unsigned',
        fault.system.services.query.url,
        '/events',
        JSON_TYPE,
        { seq: 1, ...approve, time: new Date().toISOString() },
        401,
      ],
      [
        'deliver a seq far past the log to query, unsigned',
        fault.system.services.query.url,
        '/events',
        JSON_TYPE,
        freeze,
        401,
      ],
      [
        'deliver a seq far past the log to moderation, unsigned',
        fault.system.services.moderation.url,
        '/events',
        JSON_TYPE,
        freeze,
        401,
      ],
    ];
    const before = await head();

    const answers = [];
    for (const [what, base, target, headers, body, expected] of forgeries) {
      const method = body === undefined ? 'GET' : 'POST';
      const answer = await rawRequest(
        base,
        method,
        target,
        headers,
        Buffer.from(body === undefined ? '' : JSON.stringify(body)),
      );
      answers.push({ what, status: answer.status, expected });
    }

    expect(answers.filter(({ status, expected }) => status !== expected)).toEqual([]);
    expect(await head()).toBe(before);
    // The view still shows the comment rejected, and a new post still appears: nothing is frozen.
    const later = await createPost('after the forgeries');
    await waitFor(
      async () => (await getJson<CourseMap>(fault.gateway, '/posts'))[later] !== undefined,
      'a post made after the forgeries to show',
    );
    expect(
      (await getJson<CourseMap>(fault.gateway, '/posts'))[postId]?.comments.find((shown) => shown.id === rejected.id)
        ?.status,
    ).toBe('rejected');
  });
});

describe("the bus's own routes", () => {
  it('POST /events: hostile input is refused with a 4xx and a message, and nothing is stored', async () => {
    const before = await head();
    const statuses = new Map<number, number>();

    await fc.assert(
      fc.asyncProperty(
        hostileRequest({ specs: NEW_EVENT_SPECS, bodyLimitBytes: 1024 * 1024, acceptsArrays: true }),
        async (hostile) => {
          const answer = await rawRequest(
            fault.bus,
            'POST',
            '/events',
            { ...hostile.headers, ...fault.auth('posts') },
            hostile.body,
          );
          statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
          expect(answer.status).toBeGreaterThanOrEqual(400);
          expect(answer.status).toBeLessThan(500);
          expect(answer.json).toEqual(expect.objectContaining({ message: expect.stringMatching(/\S/) }));
        },
      ),
      { numRuns: 150 },
    );
    const empty = await rawRequest(
      fault.bus,
      'POST',
      '/events',
      { ...JSON_TYPE, ...fault.auth('posts') },
      Buffer.from('[]'),
    );

    recordFigures('hostile-input-bus', {
      requests: 151,
      answers: Object.fromEntries(statuses),
      stored: (await head()) - before,
    });
    expect(empty.status).toBe(400);
    expect(await head()).toBe(before);
    expect((await call(fault.bus, 'GET', '/readyz')).status).toBe(200);
  });

  it('the read and admin routes: never a 5xx, whatever the query string or body', async () => {
    const before = await head();

    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('/events', '/flow', '/subscriptions', '/admin/parked'),
        hostileQuery(['after', 'limit', 'types', 'subscriber']),
        async (target, query) => {
          const answer = await rawRequest(fault.bus, 'GET', `${target}${query}`, fault.auth('admin'));
          expect(answer.status).toBeLessThan(500);
          if (answer.status >= 400)
            expect(answer.json).toEqual(expect.objectContaining({ message: expect.any(String) }));
        },
      ),
      { numRuns: 100 },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(
          '/admin/subscriptions/query/cursor',
          '/admin/subscriptions/nobody/cursor',
          '/admin/subscriptions/%zz/cursor',
        ),
        hostileRequest({
          specs: [{ shape: { cursor: { kind: 'int', min: 0 } }, valid: { cursor: 0 } }],
          bodyLimitBytes: 1024 * 1024,
        }),
        async (target, hostile) => {
          const answer = await rawRequest(
            fault.bus,
            'PUT',
            target,
            { ...hostile.headers, ...fault.auth('admin') },
            hostile.body,
          );
          expect(answer.status).toBeGreaterThanOrEqual(400);
          expect(answer.status).toBeLessThan(500);
          expect(answer.json).toEqual(expect.objectContaining({ message: expect.any(String) }));
        },
      ),
      { numRuns: 60 },
    );
    expect(await head()).toBe(before);
  });
});
