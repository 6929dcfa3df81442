import { Writable } from 'node:stream';
import pino from 'pino';
import request from 'supertest';
import { AppError } from '../src/service/errors';
import { BusUnavailableError, ConflictError, IdempotencyConflictError } from '../src/transport/errors';
import { createHttpApp, DEFAULT_BODY_LIMIT } from '../src/service/http-app';
import { silentLogger } from '../src/service/logger';

/** A logger whose records the test can read. */
function capturingLogger() {
  const records: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      records.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), records };
}

function appWithRoutes(logger = silentLogger()) {
  return createHttpApp({
    logger,
    routes: (app) => {
      app.post('/echo', (req, res) => {
        res.json(req.body);
      });
      app.get('/boom', () => {
        throw new Error('secret database password in /srv/app.ts');
      });
      app.get('/async-boom', async () => {
        await Promise.resolve();
        throw new Error('rejected later');
      });
      app.get('/conflict', () => {
        throw new AppError(409, 'title: is taken', { title: 'is taken' });
      });
      app.get('/gone', () => {
        throw new AppError(410, 'post: was deleted');
      });
      app.get('/bus-down', () => {
        throw new BusUnavailableError('connection refused');
      });
      app.get('/raced', () => {
        throw new ConflictError('comments:p1', 9);
      });
      app.get('/reused-id', () => {
        throw new IdempotencyConflictError('PostCreated:p1');
      });
    },
  });
}

describe('createHttpApp', () => {
  describe('headers of every answer', () => {
    const app = () =>
      createHttpApp({
        logger: silentLogger(),
        internalPaths: ['/events'],
        routes: (a) => {
          a.get('/public', (_req, res) => void res.json({}));
          a.post('/events', (_req, res) => void res.json({ status: 'ok' }));
          a.get('/boom', () => {
            throw new Error('boom');
          });
        },
      });

    it.each([
      ['a route', 'get', '/public', 200],
      ['an unknown route', 'get', '/nope', 404],
      ['malformed JSON', 'post', '/events', 400],
      ['an error of the route', 'get', '/boom', 500],
      ['the health check', 'get', '/healthz', 200],
    ] as const)('nosniff on %s', async (_case, method, path, status) => {
      const req = request(app())[method](path);
      const res = await (method === 'post' ? req.set('content-type', 'application/json').send('{') : req);

      expect(res.status).toBe(status);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
    });

    it('no-store on an internal path (a delivery), not on a public route', async () => {
      const internal = await request(app()).post('/events').send({});
      const open = await request(app()).get('/public');

      expect(internal.headers['cache-control']).toBe('no-store');
      expect(open.headers['cache-control']).toBeUndefined();
    });
  });

  describe('GET /healthz', () => {
    it('answers 200 while the process runs', async () => {
      const res = await request(appWithRoutes()).get('/healthz');

      expect(res.status).toBe(200);
      expect(res.body).toEqual({ status: 'ok' });
    });
  });

  describe('GET /readyz', () => {
    it('answers 503 until the service is ready, then 200', async () => {
      let ready = false;
      const app = createHttpApp({ logger: silentLogger(), isReady: () => ready, routes: () => undefined });

      const before = await request(app).get('/readyz');
      ready = true;
      const after = await request(app).get('/readyz');

      expect(before.status).toBe(503);
      expect(before.body).toEqual({ status: 'starting' });
      expect(after.status).toBe(200);
      expect(after.body).toEqual({ status: 'ready' });
    });

    it('is ready by default', async () => {
      const res = await request(createHttpApp({ logger: silentLogger(), routes: () => undefined })).get('/readyz');

      expect(res.status).toBe(200);
    });
  });

  it('answers 404 JSON naming the method and path of an unknown route', async () => {
    const res = await request(appWithRoutes()).delete('/nowhere');

    expect(res.status).toBe(404);
    expect(res.type).toBe('application/json');
    expect(res.body).toEqual({ message: 'DELETE /nowhere: no such route' });
  });

  it('parses a JSON body for the routes', async () => {
    const res = await request(appWithRoutes()).post('/echo').send({ title: 'Hello' });

    expect(res.body).toEqual({ title: 'Hello' });
  });

  it('parses a +json media type as JSON', async () => {
    const res = await request(appWithRoutes())
      .post('/echo')
      .set('content-type', 'application/merge-patch+json')
      .send('{"title":"Hello"}');

    expect(res.body).toEqual({ title: 'Hello' });
  });

  it('answers 400 "body: must be valid JSON" for malformed JSON', async () => {
    const res = await request(appWithRoutes()).post('/echo').set('content-type', 'application/json').send('{"title": ');

    expect(res.status).toBe(400);
    expect(res.body).toEqual({ message: 'body: must be valid JSON' });
  });

  it('answers 400 naming the rule for a body nested 5,000 levels deep, before any route sees it', async () => {
    let reached = false;
    const app = createHttpApp({
      logger: silentLogger(),
      routes: (a) =>
        a.post('/echo', (_req, res) => {
          reached = true;
          res.json({});
        }),
    });

    const res = await request(app)
      .post('/echo')
      .set('content-type', 'application/json')
      .send(`{"title":"Hello","extra":${'['.repeat(5000)}${']'.repeat(5000)}}`);

    expect(res.status).toBe(400);
    expect(res.body).toEqual({ message: 'body: must not nest arrays or objects more than 64 levels deep' });
    expect(reached).toBe(false);
  });

  it('answers 413 for a body over the 100 kB limit', async () => {
    const res = await request(appWithRoutes())
      .post('/echo')
      .send({ title: 'x'.repeat(101 * 1024) });

    expect(res.status).toBe(413);
    expect(res.body).toEqual({ message: `body: must be at most ${DEFAULT_BODY_LIMIT} bytes` });
  });

  it('accepts a body just under the limit', async () => {
    const res = await request(appWithRoutes())
      .post('/echo')
      .send({ title: 'x'.repeat(99 * 1024) });

    expect(res.status).toBe(200);
  });

  it('honours a smaller body limit', async () => {
    const app = createHttpApp({
      logger: silentLogger(),
      bodyLimit: '1kb',
      routes: (a) => a.post('/echo', (_req, res) => void res.json({})),
    });

    const res = await request(app)
      .post('/echo')
      .send({ title: 'x'.repeat(2048) });

    expect(res.status).toBe(413);
  });

  it.each([
    ['text/plain', 'title=Hello'],
    ['application/x-www-form-urlencoded', 'title=Hello'],
    ['application/xml', '<title>Hello</title>'],
  ])('answers 415 for a %s body on every route, whether or not it reads the body', async (type, body) => {
    const app = createHttpApp({
      logger: silentLogger(),
      routes: (a) => a.post('/ignores-body', (_req, res) => void res.json({ ok: true })),
    });

    const res = await request(app).post('/ignores-body').set('content-type', type).send(body);

    expect(res.status).toBe(415);
    expect(res.body).toEqual({ message: 'content-type: must be application/json' });
  });

  it('answers 415 for a body without a content type', async () => {
    const res = await request(appWithRoutes()).post('/echo').send(Buffer.from('{"title":"Hello"}'));

    expect(res.status).toBe(415);
  });

  it('lets requests without a body through, whatever their content type', async () => {
    const app = createHttpApp({
      logger: silentLogger(),
      routes: (a) => a.post('/ping', (_req, res) => void res.json({ ok: true })),
    });

    expect((await request(app).post('/ping').set('content-type', 'text/plain')).status).toBe(200);
  });

  it.each(['%zz', '%', '%ED%A0%80', '%FF'])(
    'answers 400 naming the path for the undecodable parameter %s',
    async (param) => {
      const app = createHttpApp({
        logger: silentLogger(),
        routes: (a) => a.get('/posts/:id', (req, res) => void res.json({ id: req.params.id })),
      });

      const res = await request(app).get(`/posts/${param}`);

      expect(res.status).toBe(400);
      expect(res.body).toEqual({ message: 'path: must be valid percent-encoded UTF-8' });
    },
  );

  it('answers 415 for JSON in a charset other than UTF', async () => {
    const res = await request(appWithRoutes())
      .post('/echo')
      .set('content-type', 'application/json; charset=latin1')
      .send('{}');

    expect(res.status).toBe(415);
    expect(res.body).toEqual({ message: 'body: must be UTF-8 JSON' });
  });

  it.each(['/boom', '/async-boom'])('answers 500 "internal error" without internals when %s throws', async (path) => {
    const res = await request(appWithRoutes()).get(path);

    expect(res.status).toBe(500);
    expect(res.body).toEqual({ message: 'internal error' });
    expect(res.text).not.toMatch(/secret|rejected later|stack|\.ts/);
  });

  it('logs an unexpected error for the operator', async () => {
    const { logger, records } = capturingLogger();

    await request(appWithRoutes(logger)).get('/boom');

    expect(records).toEqual([
      expect.objectContaining({ level: 50, msg: 'unexpected error', method: 'GET', path: '/boom' }),
    ]);
    expect(JSON.stringify(records[0])).toContain('secret database password');
  });

  it('keeps the status, message and fields of an AppError', async () => {
    const res = await request(appWithRoutes()).get('/conflict');

    expect(res.status).toBe(409);
    expect(res.body).toEqual({ message: 'title: is taken', fields: { title: 'is taken' } });
  });

  it('leaves fields out of an AppError that has none', async () => {
    const res = await request(appWithRoutes()).get('/gone');

    expect(res.status).toBe(410);
    expect(res.body).toEqual({ message: 'post: was deleted' });
  });

  it.each([
    ['/bus-down', 503, 'event-bus: unavailable (connection refused); nothing was stored, try again'],
    ['/raced', 409, 'expectedLastSeq: the last event of comments:p1 is at 9'],
    ['/reused-id', 422, 'id: PostCreated:p1 is stored with other data'],
  ])('answers the transport error of %s with %i and its message', async (path, status, message) => {
    const res = await request(appWithRoutes()).get(path);

    expect(res.status).toBe(status);
    expect(res.body).toEqual({ message });
  });

  it('does not advertise Express', async () => {
    const res = await request(appWithRoutes()).get('/healthz');

    expect(res.headers['x-powered-by']).toBeUndefined();
  });
});

describe('CORS', () => {
  const DEV_CLIENT = 'http://localhost:3000';
  const app = createHttpApp({
    logger: silentLogger(),
    corsOrigins: [DEV_CLIENT, 'http://localhost:5173'],
    internalPaths: ['/events'],
    bodyLimit: 100,
    routes: (a) => {
      a.post('/posts/create', (_req, res) => void res.status(201).json({ id: 'p1' }));
      a.get('/posts/feed', (_req, res) => void res.json({ posts: [] }));
      a.post('/events', (_req, res) => void res.json({ status: 'ok' }));
    },
  });

  it.each(['/posts/create', '/posts/feed', '/posts/p1/comments'])(
    'answers the preflight of an allowed origin on %s, without credentials',
    async (path) => {
      const res = await request(app)
        .options(path)
        .set('origin', DEV_CLIENT)
        .set('access-control-request-method', 'POST')
        .set('access-control-request-headers', 'content-type,idempotency-key');

      expect(res.status).toBe(204);
      expect(res.headers['access-control-allow-origin']).toBe(DEV_CLIENT);
      expect(res.headers['access-control-allow-methods']).toBe('GET,HEAD,POST');
      expect(res.headers['access-control-allow-headers']).toBe('content-type,idempotency-key,last-event-id');
      expect(res.headers['access-control-allow-credentials']).toBeUndefined();
      expect(res.headers.vary).toContain('Origin');
    },
  );

  it('lets an allowed page read the answer, and a refused body’s answer too', async () => {
    const created = await request(app)
      .post('/posts/create')
      .set('origin', 'http://localhost:5173')
      .send({ title: 'Hi' });
    const tooLarge = await request(app)
      .post('/posts/create')
      .set('origin', DEV_CLIENT)
      .send({ title: 'x'.repeat(200) });

    expect(created.status).toBe(201);
    expect(created.headers['access-control-allow-origin']).toBe('http://localhost:5173');
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.headers['access-control-allow-origin']).toBe(DEV_CLIENT);
  });

  it.each([
    ['another site', 'https://evil.example'],
    ['an allowed host on another port', 'http://localhost:3001'],
    ['the literal null origin of a sandboxed page', 'null'],
  ])('gives %s no Access-Control-Allow-Origin', async (_case, origin) => {
    const preflight = await request(app)
      .options('/posts/create')
      .set('origin', origin)
      .set('access-control-request-method', 'POST');
    const read = await request(app).get('/posts/feed').set('origin', origin);

    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
    expect(read.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('gives the paths other services call (the delivery route) no CORS answer', async () => {
    const preflight = await request(app)
      .options('/events')
      .set('origin', DEV_CLIENT)
      .set('access-control-request-method', 'POST');
    const delivered = await request(app).post('/events').set('origin', DEV_CLIENT).send({});

    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
    expect(delivered.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('answers no CORS at all without allowed origins', async () => {
    const closed = createHttpApp({
      logger: silentLogger(),
      routes: (a) => a.get('/posts/feed', (_req, res) => void res.json({})),
    });

    const preflight = await request(closed)
      .options('/posts/feed')
      .set('origin', DEV_CLIENT)
      .set('access-control-request-method', 'GET');

    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
  });
});
