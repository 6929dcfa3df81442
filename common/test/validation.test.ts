import type { Express } from 'express';
import request from 'supertest';
import { z } from 'zod';
import { AppError } from '../src/service/errors';
import { createHttpApp } from '../src/service/http-app';
import { silentLogger } from '../src/service/logger';
import { describeIssues, parseBody, parseOrThrow } from '../src/service/validation';

const postSchema = z.object({ title: z.string().min(1).max(10) });

function issuesOf(schema: z.ZodType, value: unknown) {
  const result = schema.safeParse(value);
  if (result.success) throw new Error('expected the value to be invalid');
  return result.error.issues;
}

describe('describeIssues', () => {
  it.each([
    ['an empty string', { title: '' }, 'title: must not be empty'],
    ['a missing field', {}, 'title: is required'],
    ['a wrong type', { title: 42 }, 'title: must be a string'],
    ['a too long string', { title: 'x'.repeat(11) }, 'title: must be at most 10 characters'],
  ])('words %s as the field and its rule', (_case, value, message) => {
    expect(describeIssues(issuesOf(postSchema, value)).message).toBe(message);
  });

  it('names the root when the whole value is wrong', () => {
    expect(describeIssues(issuesOf(postSchema, 'a title')).message).toBe('body: must be an object');
    expect(describeIssues(issuesOf(postSchema, null), 'event').message).toBe('event: must be an object');
  });

  it('joins nested paths with dots', () => {
    const schema = z.object({ posts: z.array(z.object({ title: z.string() })) });

    expect(describeIssues(issuesOf(schema, { posts: [{ title: 'a' }, {}] })).message).toBe(
      'posts.1.title: is required',
    );
  });

  it('lists every bad field in one message and in the field map', () => {
    const schema = z.object({ title: z.string().min(1), content: z.string() });

    const { message, fields } = describeIssues(issuesOf(schema, { title: '', content: 1 }));

    expect(message).toBe('title: must not be empty; content: must be a string');
    expect(fields).toEqual({ title: 'must not be empty', content: 'must be a string' });
  });

  it('keeps the first rule when a field breaks several', () => {
    const schema = z.object({
      title: z
        .string()
        .min(3)
        .regex(/^[a-z]+$/),
    });

    expect(describeIssues(issuesOf(schema, { title: 'A' })).fields).toEqual({ title: 'must be at least 3 characters' });
  });

  it.each([
    ['an exclusive minimum', z.number().positive(), 0, 'body: must be greater than 0'],
    ['an inclusive minimum', z.number().min(1), 0, 'body: must be at least 1'],
    ['an exclusive maximum', z.number().lt(5), 5, 'body: must be less than 5'],
    ['an inclusive maximum', z.number().max(5), 6, 'body: must be at most 5'],
    ['an integer', z.number().int(), 1.5, 'body: must be an integer'],
    ['a short array', z.array(z.string()).min(1), [], 'body: must have at least 1 items'],
    ['a long array', z.array(z.string()).max(1), ['a', 'b'], 'body: must have at most 1 items'],
    [
      'no unknown keys',
      z.strictObject({ title: z.string() }),
      { title: 't', admin: true },
      'body: must not have admin',
    ],
    ['a choice', z.enum(['approved', 'rejected']), 'pending', 'body: must be one of approved, rejected'],
    [
      'a missing choice',
      z.object({ status: z.enum(['approved', 'rejected']) }),
      {},
      'status: must be one of approved, rejected',
    ],
    ['a literal', z.literal('pending'), 'approved', 'body: must be "pending"'],
  ])('words %s', (_case, schema, value, message) => {
    expect(describeIssues(issuesOf(schema, value)).message).toBe(message);
  });

  it('keeps a custom message as the rule', () => {
    const schema = z.object({ email: z.string().regex(/@/, 'must contain @') });

    expect(describeIssues(issuesOf(schema, { email: 'ann' })).message).toBe('email: must contain @');
  });

  it('keeps a custom message of a choice as the rule', () => {
    const schema = z.enum(['a', 'b'], { error: () => 'must be a letter we know' });

    expect(describeIssues(issuesOf(schema, 'c')).message).toBe('body: must be a letter we know');
  });
});

describe('parseOrThrow', () => {
  it('returns the parsed value', () => {
    expect(parseOrThrow(postSchema, { title: 'Hello', extra: 1 })).toEqual({ title: 'Hello' });
  });

  it('throws a 400 AppError naming the field, with the field map', () => {
    const error = (() => {
      try {
        parseOrThrow(postSchema, { title: '' });
      } catch (err) {
        return err;
      }
      return undefined;
    })();

    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({
      status: 400,
      message: 'title: must not be empty',
      fields: { title: 'must not be empty' },
    });
  });

  it('names the given root for a wrong whole value', () => {
    expect(() => parseOrThrow(postSchema, [], 'query')).toThrow('query: must be an object');
  });
});

describe('parseBody', () => {
  let app: Express;

  beforeAll(() => {
    app = createHttpApp({
      logger: silentLogger(),
      routes: (a) =>
        a.post('/posts', (req, res) => {
          res.status(201).json(parseBody(req, postSchema));
        }),
    });
  });

  it('returns the parsed JSON body', async () => {
    const res = await request(app).post('/posts').send({ title: 'Hello' });

    expect(res.status).toBe(201);
    expect(res.body).toEqual({ title: 'Hello' });
  });

  it('accepts a JSON media type with a charset', async () => {
    const res = await request(app)
      .post('/posts')
      .set('content-type', 'application/json; charset=utf-8')
      .send('{"title":"Hello"}');

    expect(res.status).toBe(201);
  });

  it.each([
    [{ title: '' }, 'title: must not be empty'],
    [{}, 'title: is required'],
    [{ title: 42 }, 'title: must be a string'],
    [{ title: 'x'.repeat(11) }, 'title: must be at most 10 characters'],
    [['Hello'], 'body: must be an object'],
  ])('answers 400 for %j naming the field and the rule', async (body, message) => {
    const res = await request(app).post('/posts').send(body);

    expect(res.status).toBe(400);
    expect(res.body.message).toBe(message);
  });

  it('answers 415 for a body that is not JSON', async () => {
    const res = await request(app).post('/posts').set('content-type', 'text/plain').send('title=Hello');

    expect(res.status).toBe(415);
    expect(res.body).toEqual({ message: 'content-type: must be application/json' });
  });

  it('answers 415 for a form body', async () => {
    const res = await request(app).post('/posts').type('form').send({ title: 'Hello' });

    expect(res.status).toBe(415);
  });

  it('answers 400 for a request without a body', async () => {
    const res = await request(app).post('/posts');

    expect(res.status).toBe(400);
    expect(res.body).toEqual({ message: 'body: is required (a JSON object)' });
  });

  it('answers 400, not 415, for an empty JSON body', async () => {
    const res = await request(app).post('/posts').set('content-type', 'application/json');

    expect(res.status).toBe(400);
  });
});
