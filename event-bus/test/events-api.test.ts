import request from 'supertest';
import { openTestBus, postCreated, TESTER, TESTER_ACL, type TestBus } from './helpers';

describe('event-bus HTTP API', () => {
  let bus: TestBus;
  beforeEach(() => {
    bus = openTestBus([], { acl: TESTER_ACL });
  });
  afterEach(() => bus.close());

  const publish = (body: unknown) => bus.publish(body);
  const read = (path: string) => bus.as('admin').get(path);

  describe('POST /events (one event)', () => {
    it('stores a course-style bare {type, data} with a bus-assigned id and answers 201 with its seq', async () => {
      const res = await publish({ type: 'PostCreated', data: { id: 'p1', title: 'Hello' } }).expect(201);

      expect(res.body).toEqual({ id: expect.stringMatching(/^[0-9a-f-]{36}$/), seq: 1, duplicate: false });
      expect(bus.bus.store.head).toBe(1);
    });

    it('gives consecutive seqs to consecutive events', async () => {
      const seqs = [];
      for (let n = 1; n <= 3; n += 1) seqs.push((await publish(postCreated(n)).expect(201)).body.seq);

      expect(seqs).toEqual([1, 2, 3]);
    });

    it('stores a re-sent id once and answers 200 with the original seq and duplicate: true', async () => {
      await publish(postCreated(1, 'first')).expect(201);
      await publish(postCreated(2)).expect(201);

      const again = await publish(postCreated(1, 'first')).expect(200);

      expect(again.body).toEqual({ id: 'first', seq: 1, duplicate: true });
      expect(bus.bus.store.head).toBe(2);
    });

    it('stores concurrent publishes of the same id once', async () => {
      const answers = await Promise.all(Array.from({ length: 5 }, () => publish(postCreated(1, 'same'))));

      expect(answers.map((res) => res.body.seq)).toEqual([1, 1, 1, 1, 1]);
      expect(answers.filter((res) => res.body.duplicate === false)).toHaveLength(1);
      expect(bus.bus.store.head).toBe(1);
    });

    it.each([
      ['an unknown type', { type: 'PostDeleted', data: {} }, 'type: must be one of PostCreated'],
      ['a missing type', { data: { id: 'p1', title: 't' } }, 'type:'],
      ['missing data', { type: 'PostCreated' }, 'data: is required'],
      ['a wrong data type', { type: 'PostCreated', data: { id: 'p1', title: 42 } }, 'data.title: must be a string'],
      [
        'a too long title',
        { type: 'PostCreated', data: { id: 'p1', title: 'x'.repeat(201) } },
        'data.title: must be at most 200 characters',
      ],
      [
        'a wrong status',
        { type: 'CommentCreated', data: { id: 'c', postId: 'p', content: 'x', status: 'approved' } },
        'data.status',
      ],
      ['an empty id', { ...postCreated(1), id: '' }, 'id: must not be empty'],
      ['a numeric id', { ...postCreated(1), id: 7 }, 'id: must be a string'],
      ['a JSON string', 'hello', 'body'],
      ['a JSON null', null, 'body'],
    ])('rejects %s with 400 naming the field, storing nothing', async (_case, body, message) => {
      const res = await bus
        .as(TESTER)
        .post('/events')
        .set('content-type', 'application/json')
        .send(JSON.stringify(body))
        .expect(400);

      expect(res.body.message).toContain(message);
      expect(bus.bus.store.head).toBe(0);
    });

    it('rejects malformed JSON with 400', async () => {
      const res = await bus
        .as(TESTER)
        .post('/events')
        .set('content-type', 'application/json')
        .send('{"type": "PostCreated",')
        .expect(400);

      expect(res.body.message).toBe('body: must be valid JSON');
    });

    it('rejects a non-JSON body with 415', async () => {
      await bus.as(TESTER).post('/events').set('content-type', 'text/plain').send('type=PostCreated').expect(415);

      expect(bus.bus.store.head).toBe(0);
    });

    it('rejects a body over the limit with 413', async () => {
      const huge = { type: 'PostCreated', data: { id: 'p1', title: 'x'.repeat(2_000_000) } };

      await publish(huge).expect(413);

      expect(bus.bus.store.head).toBe(0);
    });
  });

  describe('POST /events (a batch)', () => {
    it('stores every event in order and answers each seq and duplicate flag', async () => {
      await publish(postCreated(0, 'known')).expect(201);

      const res = await publish([postCreated(1, 'a'), postCreated(0, 'known'), postCreated(2)]).expect(201);

      expect(res.body.results).toEqual([
        { id: 'a', seq: 2, duplicate: false },
        { id: 'known', seq: 1, duplicate: true },
        { id: expect.any(String), seq: 3, duplicate: false },
      ]);
    });

    it('stores an id repeated inside one batch once', async () => {
      const res = await publish([postCreated(1, 'twice'), postCreated(1, 'twice')]).expect(201);

      expect(res.body.results.map((result: { seq: number }) => result.seq)).toEqual([1, 1]);
      expect(bus.bus.store.head).toBe(1);
    });

    it('rejects the whole batch when one item is invalid, naming its index and field', async () => {
      const res = await publish([
        postCreated(1),
        { type: 'PostCreated', data: { id: 'p2', title: 5 } },
        postCreated(3),
      ]).expect(400);

      expect(res.body.message).toContain('[1].data.title: must be a string');
      expect(res.body.fields).toEqual({ '[1].data.title': 'must be a string' });
      expect(bus.bus.store.head).toBe(0);
    });

    it('names every invalid item', async () => {
      const res = await publish([{ type: 'Nope', data: {} }, postCreated(1), 'text']).expect(400);

      expect(Object.keys(res.body.fields)).toEqual(['[0].type', '[2]']);
    });

    it('rejects an empty batch and one over the size limit with 400', async () => {
      expect((await publish([]).expect(400)).body.message).toContain('body: must have at least 1 items');
      expect(
        (await publish(Array.from({ length: 1001 }, (_, n) => postCreated(n))).expect(400)).body.message,
      ).toContain('body: must have at most 1000 items');
      expect(bus.bus.store.head).toBe(0);
    });
  });

  describe('GET /events', () => {
    beforeEach(async () => {
      await publish([
        postCreated(1),
        { type: 'CommentCreated', data: { id: 'c1', postId: 'post-1', content: 'hi', status: 'pending' } },
        postCreated(2),
        { type: 'CommentModerated', data: { id: 'c1', postId: 'post-1', content: 'hi', status: 'approved' } },
        postCreated(3),
      ]).expect(201);
    });

    it('answers every stored envelope as one array (the course replay)', async () => {
      const res = await read('/events').expect(200).expect('content-type', /json/);

      expect(res.body.map((event: { seq: number }) => event.seq)).toEqual([1, 2, 3, 4, 5]);
      expect(res.body[1]).toEqual({
        id: expect.any(String),
        seq: 2,
        type: 'CommentCreated',
        data: { id: 'c1', postId: 'post-1', content: 'hi', status: 'pending' },
        time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      });
    });

    it('streams a log larger than one read chunk completely, in order', async () => {
      for (let round = 0; round < 3; round += 1) {
        await publish(Array.from({ length: 1000 }, (_, n) => postCreated(round * 1000 + n))).expect(201);
      }

      const res = await read('/events').expect(200);

      expect(res.body).toHaveLength(3005);
      expect(res.body.every((event: { seq: number }, index: number) => event.seq === index + 1)).toBe(true);
    });

    it('answers an empty array for an empty log', async () => {
      const empty = openTestBus();
      try {
        expect((await empty.as('admin').get('/events').expect(200)).body).toEqual([]);
      } finally {
        await empty.close();
      }
    });

    it('pages with after and limit: next is the last seq of a full page, head the newest seq', async () => {
      const first = await read('/events?after=0&limit=2').expect(200);
      const second = await read(`/events?after=${first.body.next}&limit=2`).expect(200);
      const last = await read(`/events?after=${second.body.next}&limit=2`).expect(200);

      expect(first.body.events.map((event: { seq: number }) => event.seq)).toEqual([1, 2]);
      expect([first.body.next, first.body.head]).toEqual([2, 5]);
      expect(second.body.events.map((event: { seq: number }) => event.seq)).toEqual([3, 4]);
      expect(last.body).toEqual({ events: [expect.objectContaining({ seq: 5 })], next: 5, head: 5 });
    });

    it('filters by types; next moves past the events it left out, up to the head when the scan reaches the end', async () => {
      const page = await read('/events?after=0&types=CommentCreated,CommentModerated').expect(200);

      expect(page.body.events.map((event: { seq: number }) => event.seq)).toEqual([2, 4]);
      expect(page.body.next).toBe(5);
      expect(page.body.head).toBe(5);
    });

    it('answers next = head when after is at the head', async () => {
      const res = await read('/events?after=5').expect(200);

      expect(res.body).toEqual({ events: [], next: 5, head: 5 });
    });

    it.each([
      ['after=-1', 'after: must be at least 0'],
      ['after=abc', 'after: must be a number'],
      ['after=1.5', 'after'],
      ['limit=0', 'limit: must be at least 1'],
      ['limit=10001', 'limit: must be at most 10000'],
      ['types=PostDeleted', 'types'],
      ['types=', 'types'],
    ])('rejects ?%s with 400 naming the parameter', async (query, message) => {
      const res = await read(`/events?${query}`).expect(400);

      expect(res.body.message).toContain(message);
    });
  });

  describe('GET /subscriptions', () => {
    it('answers an empty list for a bus without subscribers', async () => {
      expect((await request(bus.views).get('/subscriptions').expect(200)).body).toEqual([]);
    });
  });

  describe('health', () => {
    it('answers /healthz and /readyz with 200', async () => {
      await request(bus.app).get('/healthz').expect(200);
      await request(bus.app).get('/readyz').expect(200);
    });

    it('answers 404 with a JSON message for an unknown route', async () => {
      expect((await bus.as('admin').get('/nope').expect(404)).body.message).toContain('no such route');
    });
  });
});
