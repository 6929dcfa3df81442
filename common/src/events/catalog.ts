import { z } from 'zod';

/**
 * The event catalog: every event the services exchange, as one zod schema per type. The schemas
 * are the source of the TypeScript types, so a producer and a consumer cannot disagree on a field.
 * Event names stay past tense and PascalCase, as the course has them. Fields beyond the catalog's
 * are kept (loose objects): a newer publisher may add fields, and they must reach the log intact.
 */

export const MAX_TITLE_LENGTH = 200;
export const MAX_COMMENT_LENGTH = 1000;
export const MAX_ID_LENGTH = 100;
/** A conditional publish's key (the stream it extends, such as one post's comments). */
export const MAX_KEY_LENGTH = 200;
/** Bounds a post's comment list, and so the size of every answer that carries it. */
export const MAX_COMMENTS_PER_POST = 500;

/**
 * A W3C Trace Context `traceparent` (version 00): the trace and the span of the work that caused an
 * event. An all-zero trace or span id is invalid (the W3C rule), as is any other version: a value the
 * services would not continue is refused rather than stored.
 */
export const TRACEPARENT_PATTERN = /^00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$/;

const id = z.string().min(1).max(MAX_ID_LENGTH);
export const commentStatusSchema = z.enum(['pending', 'approved', 'rejected']);
export type CommentStatus = z.infer<typeof commentStatusSchema>;

export const postCreatedSchema = z.looseObject({
  id,
  title: z.string().max(MAX_TITLE_LENGTH),
});
export const commentCreatedSchema = z.looseObject({
  id,
  postId: id,
  content: z.string().max(MAX_COMMENT_LENGTH),
  status: z.literal('pending'),
});
export const commentModeratedSchema = z.looseObject({
  id,
  postId: id,
  content: z.string().max(MAX_COMMENT_LENGTH),
  status: z.enum(['approved', 'rejected']),
});
export const commentUpdatedSchema = z.looseObject({
  id,
  postId: id,
  content: z.string().max(MAX_COMMENT_LENGTH),
  status: commentStatusSchema,
});

export const eventDataSchemas = {
  PostCreated: postCreatedSchema,
  CommentCreated: commentCreatedSchema,
  CommentModerated: commentModeratedSchema,
  CommentUpdated: commentUpdatedSchema,
} as const;

export type EventType = keyof typeof eventDataSchemas;
export const EVENT_TYPES = Object.keys(eventDataSchemas) as EventType[];
export type EventData<T extends EventType> = z.infer<(typeof eventDataSchemas)[T]>;

export type PostCreated = EventData<'PostCreated'>;
export type CommentCreated = EventData<'CommentCreated'>;
export type CommentModerated = EventData<'CommentModerated'>;
export type CommentUpdated = EventData<'CommentUpdated'>;

/**
 * What a publisher sends: the course's bare `{ type, data }`, optionally with its own dedupe `id`,
 * and a `key` when it is published conditionally (`publish(event, { expectedLastSeq })`).
 */
export type NewEvent<T extends EventType = EventType> = T extends EventType
  ? {
      readonly type: T;
      readonly data: EventData<T>;
      readonly id?: string;
      readonly key?: string;
      /** The trace context of the work that caused it: its consumers' handling continues that trace. */
      readonly traceparent?: string;
    }
  : never;

/** What the bus stores and delivers: the event plus its dedupe id, log position and time (and its key, if it had one). */
export type Envelope<T extends EventType = EventType> = T extends EventType
  ? {
      readonly id: string;
      readonly seq: number;
      readonly type: T;
      readonly data: EventData<T>;
      readonly time: string;
      readonly key?: string;
      /** The trace context of the publish that stored it, when the publisher traced it. */
      readonly traceparent?: string;
    }
  : never;

/** The metadata of an event, without its payload: what read-only views may show. */
export interface EventMeta {
  readonly seq: number;
  readonly type: string;
  readonly id: string;
  readonly time: string;
  /** The principal whose credential published it (`posts`, `comments`, ...), when the log knows it. */
  readonly publisher?: string;
  /** The trace of the work that caused it, when it was traced: the trace view opens it. */
  readonly traceId?: string;
}

/** Lets a `switch (event.type)` prove at compile time that it handles every event type. */
export function assertNever(value: never): never {
  throw new Error(`Unhandled value: ${JSON.stringify(value)}`);
}
