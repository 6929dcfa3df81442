import { randomUUID } from 'node:crypto';
import { EVENT_TYPES, newEventSchema, type EventType } from '@mini-blog/common/events';
import {
  allowOnly,
  AppError,
  describeIssues,
  parseBody,
  parseOrThrow,
  principalOf,
  writeChunk,
} from '@mini-blog/common/service';
import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { EventBus } from '../bus';
import type { KeyOwnership, PublishAcl } from '../config';
import type { PendingEvent } from '../log/log-writer';

export const MAX_BATCH = 1000;
export const MAX_PAGE = 10_000;
const STREAM_CHUNK = 1000;

const typeList = z
  .string()
  .transform((value) => value.split(',').filter(Boolean))
  .pipe(
    z
      .array(
        z.enum(EVENT_TYPES as [EventType, ...EventType[]], {
          error: () => `must be a comma-separated list of ${EVENT_TYPES.join(', ')}`,
        }),
      )
      .min(1),
  );

const pageQuerySchema = z.object({
  after: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(MAX_PAGE).default(1000),
  types: typeList.optional(),
});

const batchSchema = z.array(z.unknown()).min(1).max(MAX_BATCH);

/** A conditional publish: the seq the newest event with the event's `key` (checked by the catalog) must have. */
const conditionSchema = z
  .object({
    key: z.unknown().optional(),
    expectedLastSeq: z.number().int().min(0).optional(),
  })
  .refine((value) => value.expectedLastSeq === undefined || value.key !== undefined, {
    path: ['expectedLastSeq'],
    message: 'needs key',
  });

/** One published event: the catalog's check of `{type, data, id?}`, and of its condition, with the issues of both. */
function parseEvent(item: unknown): { ok: true; event: PendingEvent } | { ok: false; issues: z.core.$ZodIssue[] } {
  const event = newEventSchema.safeParse(item);
  const condition = conditionSchema.safeParse(item);
  if (!event.success || !condition.success)
    return { ok: false, issues: [...(event.error?.issues ?? []), ...(condition.error?.issues ?? [])] };
  const { key, traceparent } = event.data;
  const { expectedLastSeq } = condition.data;
  return {
    ok: true,
    event: {
      id: event.data.id ?? randomUUID(),
      type: event.data.type,
      dataJson: JSON.stringify(event.data.data),
      ...(key === undefined ? {} : { key }),
      ...(expectedLastSeq === undefined ? {} : { expectedLastSeq }),
      ...(traceparent === undefined ? {} : { traceparent }),
    },
  };
}

function parseSingle(req: Request): PendingEvent {
  // A missing or non-JSON body is told apart from an invalid event (400 or 415) first.
  const result = parseEvent(parseBody(req, z.unknown()));
  if (result.ok) return result.event;
  const { message, fields } = describeIssues(result.issues);
  throw new AppError(400, message, fields);
}

/** Every item checked; the errors name the index: `[3].data.title: must be a string`. */
function parseBatch(body: unknown[]): PendingEvent[] {
  const fields: Record<string, string> = {};
  const events = parseOrThrow(batchSchema, body).map((item, index) => {
    const result = parseEvent(item);
    if (result.ok) return result.event;
    for (const [field, rule] of Object.entries(describeIssues(result.issues, 'event').fields)) {
      fields[field === 'event' ? `[${index}]` : `[${index}].${field}`] = rule;
    }
    return undefined;
  });
  if (Object.keys(fields).length > 0) {
    const message = Object.entries(fields)
      .map(([field, rule]) => `${field}: ${rule}`)
      .join('; ');
    throw new AppError(400, `the batch was not stored: ${message}`, fields);
  }
  return events as PendingEvent[];
}

export interface EventsAccess {
  /** Who may publish which types. */
  readonly acl: PublishAcl;
  /** Who may publish under which keys (the registry's `keys`: `registryKeyOwnership`). */
  readonly keys: KeyOwnership;
  /** Who may read the log: the subscribers and admin. */
  readonly readers: ReadonlySet<string>;
}

/**
 * Each event's type must be one the principal may publish, and its key (if any) one it owns for that
 * type: another principal's key would let it move that key's last seq and so make the owner's
 * conditional publishes stale (posts publishing under `comments:<postId>` would block the post's
 * comments). One event that is refused refuses the whole request.
 */
function authorizePublish(
  { acl, keys }: Pick<EventsAccess, 'acl' | 'keys'>,
  principal: string,
  events: readonly PendingEvent[],
): void {
  const allowed = acl.get(principal);
  const forbidden = events.find((event) => !allowed?.has(event.type));
  if (forbidden) throw new AppError(403, `type: ${principal} may not publish ${forbidden.type}`);
  const foreignKey = events.find((event) => event.key !== undefined && !keys(principal, event.type, event.key));
  if (foreignKey)
    throw new AppError(403, `key: ${principal} may not publish ${foreignKey.type} under ${foreignKey.key}`);
}

const publishedBy =
  (publisher: string) =>
  (event: PendingEvent): PendingEvent => ({ ...event, publisher });

/** Publish and replay: `POST /events` (one event or a batch), `GET /events` (whole log or pages). */
export function eventsRouter({ store, committer, fanOut }: EventBus, { acl, keys, readers }: EventsAccess): Router {
  /**
   * How far the course's replay reads for `principal`: the log as it is now (events committed while
   * it streams are left for the next read), but for a course-style subscriber (one event per POST)
   * only what was already delivered to it. The bus delivers the rest, so a course service that reads
   * the log at start and takes every POST sees each event once, even one it was down for or that
   * was stored before it subscribed.
   */
  function replayEnd(principal: string): number {
    const head = store.head;
    const own = fanOut
      .subscribers()
      .find((loop) => loop.name === principal)
      ?.status(head);
    return own && !own.batch ? Math.min(head, own.cursor) : head;
  }

  /** The course's replay: the whole log as one array, read and sent in chunks, so memory stays flat. */
  async function streamAll(res: Response): Promise<void> {
    const head = replayEnd(principalOf(res));
    res.status(200).type('application/json');
    let after = 0;
    let separator = '';
    if (!(await writeChunk(res, '['))) return;
    while (after < head) {
      const page = store.readEnvelopes(after, Math.min(STREAM_CHUNK, head - after));
      if (page.json.length === 0) break;
      after = page.last;
      if (!(await writeChunk(res, separator + page.json.join(',')))) return;
      separator = ',';
    }
    res.end(']');
  }

  function page(req: Request, res: Response): void {
    const { after, limit, types } = parseOrThrow(pageQuerySchema, req.query, 'query');
    const head = store.head;
    const page = store.readEnvelopes(after, limit, types ?? null);
    // A short page reached the head: everything up to it was scanned, even what the filter left out.
    const next = page.json.length < limit ? head : page.last;
    res.type('application/json').send(`{"events":[${page.json.join(',')}],"next":${next},"head":${head}}`);
  }

  const router = Router();
  router.post('/events', async (req, res) => {
    if (Array.isArray(req.body)) {
      const events = parseBatch(req.body);
      authorizePublish({ acl, keys }, principalOf(res), events);
      res.status(201).json({ results: await committer.publish(events.map(publishedBy(principalOf(res)))) });
      return;
    }
    const event = parseSingle(req);
    authorizePublish({ acl, keys }, principalOf(res), [event]);
    const [result] = await committer.publish([publishedBy(principalOf(res))(event)]);
    res.status(result!.duplicate ? 200 : 201).json(result);
  });

  router.get(
    '/events',
    allowOnly((principal) => readers.has(principal), 'read the log'),
    async (req, res) => {
      if (['after', 'limit', 'types'].some((key) => key in req.query)) {
        page(req, res);
      } else {
        await streamAll(res);
      }
    },
  );
  return router;
}
