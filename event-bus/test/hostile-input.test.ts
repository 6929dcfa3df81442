import { expectRefused, guardPrototypes, hostileRequest, NEW_EVENT_SPECS, sendRaw } from '@mini-blog/common/testing';
import fc from 'fast-check';
import { openTestBus, secretOf, TESTER, TESTER_ACL, type TestBus } from './helpers';

/**
 * Hostile input on the bus's publish, from a principal that may publish every type (so that the
 * body alone is what refuses it): a 4xx with a message, never a 5xx, nothing stored. The same kit
 * runs against every service's routes (their hostile-input tests) and the running bus
 * (e2e/test/faults/exposure.int.test.ts).
 */

const BUS_BODY_LIMIT_BYTES = 1024 * 1024;

// Bodies up to the bus's 1 MB limit, 120 of them: seconds on a busy machine.
jest.setTimeout(30_000);

guardPrototypes();

describe('hostile input to the bus', () => {
  let bus: TestBus;
  beforeEach(() => {
    bus = openTestBus([], { acl: TESTER_ACL });
  });
  afterEach(() => bus.close());

  it('POST /events: refused with a 4xx and a message, nothing stored', async () => {
    await fc.assert(
      fc.asyncProperty(
        hostileRequest({ specs: NEW_EVENT_SPECS, bodyLimitBytes: BUS_BODY_LIMIT_BYTES, acceptsArrays: true }),
        async (hostile) => {
          const answer = await sendRaw(bus.app, 'POST', '/events', {
            headers: { ...hostile.headers, authorization: `Bearer ${secretOf(TESTER)}` },
            body: hostile.body,
          });
          expectRefused(answer);
          expect(bus.bus.store.head).toBe(0);
        },
      ),
      { numRuns: 120 },
    );
  });

  it('POST /events: an event with a field nested 5,000 levels deep gets 400 naming the rule, and is not stored', async () => {
    const deep = `${'['.repeat(5000)}${']'.repeat(5000)}`;
    const answer = await sendRaw(bus.app, 'POST', '/events', {
      headers: { 'content-type': 'application/json', authorization: `Bearer ${secretOf(TESTER)}` },
      body: Buffer.from(`{"type":"PostCreated","data":{"id":"p1","title":"t","extra":${deep}}}`),
    });

    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({ message: 'body: must not nest arrays or objects more than 64 levels deep' });
    expect(bus.bus.store.head).toBe(0);
    expect((await bus.publish({ type: 'PostCreated', data: { id: 'p1', title: 't' } })).status).toBe(201);
  });
});
