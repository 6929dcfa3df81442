import {
  EVENT_TYPES,
  MAX_COMMENT_LENGTH,
  MAX_ID_LENGTH,
  MAX_TITLE_LENGTH,
  assertNever,
  commentCreatedSchema,
  commentModeratedSchema,
  commentUpdatedSchema,
  envelopeSchema,
  eventDataSchemas,
  newEventSchema,
  parseEnvelope,
  postCreatedSchema,
  toPublicComment,
  toPublicEvent,
} from '../src/events';
import { AppError } from '../src/service/errors';
import { parseOrThrow } from '../src/service/validation';

/** The message parseOrThrow gives for a value, or 'valid'. */
function messageFor(schema: Parameters<typeof parseOrThrow>[0], value: unknown, root?: string): string {
  try {
    parseOrThrow(schema, value, root);
    return 'valid';
  } catch (err) {
    if (err instanceof AppError) return err.message;
    throw err;
  }
}

// What the course's services send, byte for byte (ids from randomBytes(4).toString('hex')).
const courseData = {
  PostCreated: { id: 'a1b2c3d4', title: 'First post' },
  CommentCreated: { id: 'c0ffee01', postId: 'a1b2c3d4', content: 'Nice', status: 'pending' },
  CommentModerated: { id: 'c0ffee01', postId: 'a1b2c3d4', content: 'Nice', status: 'approved' },
  CommentUpdated: { id: 'c0ffee01', postId: 'a1b2c3d4', content: 'Nice', status: 'rejected' },
} as const;

describe('event catalog', () => {
  it("has the course's four events, which no change may take away", () => {
    expect(EVENT_TYPES).toEqual(expect.arrayContaining(Object.keys(courseData)));
  });

  it.each(Object.entries(courseData))('accepts the course shape of %s', (type, data) => {
    const result = eventDataSchemas[type as keyof typeof eventDataSchemas].safeParse(data);

    expect(result.success).toBe(true);
  });

  it.each([
    ['PostCreated without title', postCreatedSchema, { id: 'p1' }, 'title: is required'],
    ['PostCreated without id', postCreatedSchema, { title: 't' }, 'id: is required'],
    ['PostCreated with an empty id', postCreatedSchema, { id: '', title: 't' }, 'id: must not be empty'],
    ['PostCreated with a numeric id', postCreatedSchema, { id: 1, title: 't' }, 'id: must be a string'],
    ['PostCreated with a numeric title', postCreatedSchema, { id: 'p1', title: 5 }, 'title: must be a string'],
    [
      'PostCreated with a too long title',
      postCreatedSchema,
      { id: 'p1', title: 'x'.repeat(MAX_TITLE_LENGTH + 1) },
      `title: must be at most ${MAX_TITLE_LENGTH} characters`,
    ],
    [
      'PostCreated with a too long id',
      postCreatedSchema,
      { id: 'x'.repeat(MAX_ID_LENGTH + 1), title: 't' },
      `id: must be at most ${MAX_ID_LENGTH} characters`,
    ],
    [
      'CommentCreated without postId',
      commentCreatedSchema,
      { id: 'c1', content: 'x', status: 'pending' },
      'postId: is required',
    ],
    [
      'CommentCreated with a too long content',
      commentCreatedSchema,
      { ...courseData.CommentCreated, content: 'x'.repeat(MAX_COMMENT_LENGTH + 1) },
      `content: must be at most ${MAX_COMMENT_LENGTH} characters`,
    ],
  ])('rejects %s', (_case, schema, data, message) => {
    expect(messageFor(schema, data)).toBe(message);
  });

  it('accepts a title and a content exactly at their limits', () => {
    expect(postCreatedSchema.safeParse({ id: 'p1', title: 'x'.repeat(MAX_TITLE_LENGTH) }).success).toBe(true);
    expect(
      commentCreatedSchema.safeParse({ ...courseData.CommentCreated, content: 'x'.repeat(MAX_COMMENT_LENGTH) }).success,
    ).toBe(true);
  });

  it('accepts only pending as the status of a new comment', () => {
    for (const status of ['approved', 'rejected', 'spam']) {
      expect(messageFor(commentCreatedSchema, { ...courseData.CommentCreated, status })).toMatch(/^status: /);
    }
  });

  it('accepts only approved or rejected as the outcome of moderation', () => {
    expect(commentModeratedSchema.safeParse({ ...courseData.CommentModerated, status: 'rejected' }).success).toBe(true);
    expect(messageFor(commentModeratedSchema, { ...courseData.CommentModerated, status: 'pending' })).toMatch(
      /^status: /,
    );
  });

  it('accepts every status in an update and nothing else', () => {
    for (const status of ['pending', 'approved', 'rejected']) {
      expect(commentUpdatedSchema.safeParse({ ...courseData.CommentUpdated, status }).success).toBe(true);
    }
    expect(messageFor(commentUpdatedSchema, { ...courseData.CommentUpdated, status: 'deleted' })).toMatch(/^status: /);
  });

  it('accepts extra fields, which the contract allows', () => {
    expect(postCreatedSchema.safeParse({ id: 'p1', title: 't', author: 'ann' }).success).toBe(true);
  });
});

describe('newEventSchema', () => {
  it("keeps fields beyond the catalog's, so that a newer publisher's additions reach the log", () => {
    const data = { ...courseData.PostCreated, author: 'ada' };

    const result = newEventSchema.safeParse({ type: 'PostCreated', data });

    expect(result.success && result.data.data).toEqual(data);
  });

  it("accepts the course's bare { type, data } without an id", () => {
    const result = newEventSchema.safeParse({ type: 'PostCreated', data: courseData.PostCreated });

    expect(result.success && result.data).toEqual({ type: 'PostCreated', data: courseData.PostCreated });
  });

  it("keeps the publisher's own dedupe id", () => {
    const result = newEventSchema.safeParse({
      type: 'PostCreated',
      data: courseData.PostCreated,
      id: 'PostCreated:a1b2c3d4',
    });

    expect(result.success && result.data.id).toBe('PostCreated:a1b2c3d4');
  });

  it.each(Object.entries(courseData))('accepts every catalog type: %s', (type, data) => {
    expect(newEventSchema.safeParse({ type, data }).success).toBe(true);
  });

  it('rejects an unknown type with a message naming type and the known types', () => {
    expect(messageFor(newEventSchema, { type: 'PostDeleted', data: { id: 'p1' } })).toBe(
      `type: must be one of ${EVENT_TYPES.join(', ')}`,
    );
  });

  it('rejects a missing type with a message naming type', () => {
    expect(messageFor(newEventSchema, { data: courseData.PostCreated })).toMatch(/^type: /);
  });

  it('puts data issues under data.<field>', () => {
    expect(messageFor(newEventSchema, { type: 'PostCreated', data: { id: 'p1' } })).toBe('data.title: is required');
  });

  it('names every bad data field', () => {
    expect(
      messageFor(newEventSchema, { type: 'CommentCreated', data: { id: 'c1', content: 7, status: 'pending' } }),
    ).toBe('data.postId: is required; data.content: must be a string');
  });

  it('checks data against the schema of its own type', () => {
    expect(messageFor(newEventSchema, { type: 'CommentCreated', data: courseData.PostCreated })).toMatch(
      /^data\.postId: is required/,
    );
  });

  it('rejects an empty dedupe id', () => {
    expect(messageFor(newEventSchema, { type: 'PostCreated', data: courseData.PostCreated, id: '' })).toBe(
      'id: must not be empty',
    );
  });
});

const TRACEPARENT_RULE = 'traceparent: must be a W3C traceparent: 00-<32 hex trace id>-<16 hex span id>-<2 hex flags>';

describe('envelopeSchema', () => {
  const envelope = {
    id: 'PostCreated:a1b2c3d4',
    seq: 1,
    type: 'PostCreated',
    data: courseData.PostCreated,
    time: '2024-01-01T00:00:00.000Z',
  };

  it('accepts a stored event', () => {
    expect(envelopeSchema.safeParse(envelope).success).toBe(true);
  });

  it('keeps the trace context of the publish that caused it', () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    expect(envelopeSchema.parse({ ...envelope, traceparent })).toMatchObject({ traceparent });
    expect(parseEnvelope({ ...envelope, traceparent })).toMatchObject({ success: true, data: { traceparent } });
  });

  it.each([
    ['without seq', { ...envelope, seq: undefined }, 'seq: is required'],
    ['with seq 0', { ...envelope, seq: 0 }, 'seq: must be greater than 0'],
    ['with a fractional seq', { ...envelope, seq: 1.5 }, 'seq: must be an integer'],
    ['without id', { ...envelope, id: undefined }, 'id: is required'],
    ['without time', { ...envelope, time: undefined }, 'time: is required'],
    ['with bad data', { ...envelope, data: { id: 'p1', title: null } }, 'data.title: must be a string'],
    [
      'with a traceparent of another version',
      { ...envelope, traceparent: `01-${'a'.repeat(32)}-${'b'.repeat(16)}-01` },
      TRACEPARENT_RULE,
    ],
    [
      'with an all-zero trace id',
      { ...envelope, traceparent: `00-${'0'.repeat(32)}-${'b'.repeat(16)}-01` },
      TRACEPARENT_RULE,
    ],
    [
      'with an upper-case traceparent',
      { ...envelope, traceparent: `00-${'A'.repeat(32)}-${'b'.repeat(16)}-01` },
      TRACEPARENT_RULE,
    ],
  ])('rejects an envelope %s', (_case, value, message) => {
    expect(messageFor(envelopeSchema, value, 'event')).toBe(message);
  });
});

describe('toPublicComment', () => {
  it('shows the content of an approved comment', () => {
    expect(toPublicComment({ id: 'c1', content: 'Nice', status: 'approved' })).toEqual({
      id: 'c1',
      content: 'Nice',
      status: 'approved',
    });
  });

  it.each(['pending', 'rejected'] as const)('hides the content of a %s comment', (status) => {
    expect(toPublicComment({ id: 'c1', content: 'I like oranges', status })).toEqual({ id: 'c1', content: '', status });
  });

  it('shows no field beyond id, content and status', () => {
    const comment = { id: 'c1', postId: 'p1', content: 'Nice', status: 'approved' as const };

    expect(Object.keys(toPublicComment(comment)).sort()).toEqual(['content', 'id', 'status']);
  });
});

describe('assertNever', () => {
  it('throws when a value reaches it at run time', () => {
    expect(() => assertNever('Surprise' as never)).toThrow('Unhandled value: "Surprise"');
  });
});

describe('toPublicEvent', () => {
  const meta = { seq: 3, time: '2024-01-01T00:00:00.000Z' };

  it.each(['pending', 'rejected'] as const)(
    "hides the content of a %s comment's event, and fields beyond the catalog's",
    (status) => {
      const type = status === 'pending' ? 'CommentCreated' : 'CommentModerated';
      const event = {
        ...meta,
        id: `${type}:c1`,
        type,
        data: { id: 'c1', postId: 'p1', content: 'I like oranges', status, note: 'internal' },
      } as unknown as Parameters<typeof toPublicEvent>[0];

      expect(toPublicEvent(event, { publisher: 'comments' })).toEqual({
        ...meta,
        id: `${type}:c1`,
        type,
        publisher: 'comments',
        data: { id: 'c1', postId: 'p1', content: '', status },
      });
    },
  );

  it('shows an approved comment and a post as they are, with the trace id of the event', () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    expect(
      toPublicEvent({
        ...meta,
        id: 'u',
        type: 'CommentUpdated',
        data: { ...courseData.CommentModerated },
        traceparent,
      }),
    ).toMatchObject({ traceId: '0af7651916cd43dd8448eb211c80319c', data: { content: 'Nice', status: 'approved' } });
    expect(toPublicEvent({ ...meta, id: 'p', type: 'PostCreated', data: courseData.PostCreated }).data).toEqual(
      courseData.PostCreated,
    );
  });
});
