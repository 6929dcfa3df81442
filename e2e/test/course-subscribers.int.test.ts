import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import type { EventType } from '@mini-blog/common/events';
import { freePort } from '@mini-blog/common/service';
import { parseSubscribers } from '@mini-blog/common/transport/http';
import { waitFor } from '@mini-blog/common/testing';
import { startTemporarySystem, type TemporarySystem } from '@mini-blog/launcher';
import { call, getJson } from './faults/support/http';
import type { CourseMap } from './faults/support/verify';

/**
 * A course-style service subscribed by configuration (EXTRA_SUBSCRIBERS, as `npm start` reads it)
 * beside ours: the course's query, plain Express handed one `{type, data}` per POST, shows the same
 * blog as our query; a course service that refuses an event has it parked, in plain view.
 */

jest.setTimeout(120_000);

const COURSE_TYPES: EventType[] = ['PostCreated', 'CommentCreated', 'CommentUpdated'];

let temporary: TemporarySystem;
let courseQuery: ChildProcess;
let courseUrl: string;
let strict: Server;
/** What the strict subscriber was sent, body by body. */
const strictBodies: unknown[] = [];

beforeAll(async () => {
  const coursePort = await freePort();
  courseUrl = `http://127.0.0.1:${coursePort}`;
  // A course service that takes posts and refuses every comment with 400 (its own validation, say).
  strict = createServer((req, res) => {
    let text = '';
    req.on('data', (chunk: Buffer) => (text += chunk.toString()));
    req.on('end', () => {
      const body = JSON.parse(text) as { type: string };
      strictBodies.push(body);
      res.writeHead(body.type === 'PostCreated' ? 200 : 400, { 'content-type': 'application/json' }).end('{}');
    });
  });
  strict.listen(0, '127.0.0.1');
  await once(strict, 'listening');
  const strictPort = (strict.address() as { port: number }).port;

  const extraSubscribers = parseSubscribers(
    `course-query=${courseUrl}/events|types=${COURSE_TYPES.join('+')},` +
      `course-strict=http://127.0.0.1:${strictPort}/events|types=PostCreated+CommentCreated`,
  );
  // Parked after two refusals rather than five, so that the test does not wait out the backoff.
  temporary = await startTemporarySystem('mini-blog-course-', {
    extraSubscribers,
    env: { 'event-bus': { POISON_ATTEMPTS: '2' } },
  });
  await startCourseQuery();
});

/** The course's query as a student runs it: it reads the log at start, then takes each POST /events. */
async function startCourseQuery(): Promise<void> {
  const { system } = temporary;
  courseQuery = spawn(process.execPath, [path.join(__dirname, 'course', 'query.js')], {
    env: {
      ...process.env,
      PORT: new URL(courseUrl).port,
      BUS_URL: system.services['event-bus'].url,
      CREDENTIAL_FILE: path.join(system.credentialsDir, 'course-query'),
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  await waitFor(async () => (await call(courseUrl, 'GET', '/posts')).status === 200, 'the course query to listen');
}

afterAll(async () => {
  courseQuery?.kill();
  await temporary?.stop();
  strict?.close();
});

/** A post and its comments as both queries can show them: a pending or rejected comment's content is ours to hide. */
function comparable(map: CourseMap) {
  return Object.values(map)
    .map(({ id, title, comments }) => ({
      id,
      title,
      comments: comments.map((comment) => ({
        ...comment,
        content: comment.status === 'approved' ? comment.content : '',
      })),
    }))
    .sort((a, b) => a.id.localeCompare(b.id));
}

/** Waits until the course query shows the blog `ours` shows. */
function courseShows(ours: CourseMap, what: string): Promise<unknown> {
  return waitFor(
    async () => {
      const course = (await call(courseUrl, 'GET', '/posts')).json as CourseMap;
      return JSON.stringify(comparable(course)) === JSON.stringify(comparable(ours));
    },
    what,
    { timeoutMs: 15_000 },
  );
}

describe('a course-style query subscribed with EXTRA_SUBSCRIBERS', () => {
  it('shows the same posts and comments as ours, moderated comments included', async () => {
    const { url } = temporary.system;
    const ids: string[] = [];
    for (const title of ['first', 'second']) {
      const res = await call(url, 'POST', '/posts/create', { title });
      expect(res.status).toBe(201);
      ids.push((res.json as { id: string }).id);
    }
    for (const content of ['hello', 'an orange', 'bye'])
      expect((await call(url, 'POST', `/posts/${ids[0]}/comments`, { content })).status).toBe(201);

    const ours = await waitFor(
      async () => {
        const view = (await call(url, 'GET', '/posts')).json as CourseMap;
        const comments = view[ids[0]!]?.comments ?? [];
        return comments.length === 3 && comments.every((comment) => comment.status !== 'pending') ? view : undefined;
      },
      'our query to show the three moderated comments',
      { timeoutMs: 15_000 },
    );
    expect(ours[ids[0]!]!.comments.map((comment) => comment.status)).toEqual(['approved', 'rejected', 'approved']);
    await courseShows(ours, 'the course query to show what ours shows');
  });

  it('is delivered one event per request, in the course body, and is listed with lag 0 once caught up', async () => {
    const subscriptions = await getJson<{ name: string; lag: number; batch: boolean; parked: number }[]>(
      temporary.system.viewsUrl,
      '/subscriptions',
    );
    expect(subscriptions.find((subscription) => subscription.name === 'course-query')).toMatchObject({
      lag: 0,
      batch: false,
      parked: 0,
    });
    expect(strictBodies.length).toBeGreaterThan(0);
    for (const body of strictBodies) expect(body).toMatchObject({ type: expect.any(String), data: expect.any(Object) });
  });

  it('parks the events a course service keeps refusing with 4xx, so its lag is honest and nothing is silently dropped', async () => {
    const { system } = temporary;
    const parked = await waitFor(
      async () => {
        const list = await getJson<{ name: string; lag: number; parked: number }[]>(system.viewsUrl, '/subscriptions');
        const entry = list.find((subscription) => subscription.name === 'course-strict');
        return entry && entry.parked === 3 ? entry : undefined;
      },
      'the three comments to be parked for course-strict',
      { timeoutMs: 30_000 },
    );
    expect(parked.lag).toBe(0);
    const admin = await call(
      system.services['event-bus'].url,
      'GET',
      '/admin/parked?subscriber=course-strict',
      undefined,
      {
        headers: {
          authorization: `Bearer ${readFileSync(path.join(system.credentialsDir, 'admin'), 'utf8').split('\n')[0]}`,
        },
      },
    );
    expect(admin.status).toBe(200);
    expect((admin.json as { parked: { type: string }[] }).parked.map((record) => record.type)).toEqual([
      'CommentCreated',
      'CommentCreated',
      'CommentCreated',
    ]);
  });

  it('shows the same blog again after it was down while a comment was made: its replay and the deliveries give each event once', async () => {
    const { url } = temporary.system;
    const exited = once(courseQuery, 'exit');
    courseQuery.kill();
    await exited;
    // A comment on a post it already has (a PostCreated would give the course a fresh post again).
    const [id] = Object.keys((await call(url, 'GET', '/posts')).json as CourseMap);
    const res = await call(url, 'POST', `/posts/${id}/comments`, { content: 'made while it was down' });
    expect(res.status).toBe(201);
    const ours = await waitFor(
      async () => {
        const view = (await call(url, 'GET', '/posts')).json as CourseMap;
        const comment = view[id!]?.comments.find((candidate) => candidate.content === 'made while it was down');
        return comment?.status === 'approved' ? view : undefined;
      },
      'our query to show the new comment approved',
      { timeoutMs: 15_000 },
    );

    await startCourseQuery();
    // Once the bus has delivered it all, so that a duplicate has had its chance to arrive.
    await waitFor(
      async () => {
        const list = await getJson<{ name: string; lag: number; inFlight: number }[]>(
          temporary.system.viewsUrl,
          '/subscriptions',
        );
        const entry = list.find((subscription) => subscription.name === 'course-query');
        return entry?.lag === 0 && entry.inFlight === 0;
      },
      'the bus to deliver to the course query what it missed',
      { timeoutMs: 30_000 },
    );
    await courseShows(ours, 'the course query to show what ours shows, each comment once');
  });
});
