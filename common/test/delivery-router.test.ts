import request from 'supertest';
import {
  BUS_CURSOR_HEADER,
  BUS_DELIVERY_ID_HEADER,
  BUS_SIGNATURE_HEADER,
  BUS_TIMESTAMP_HEADER,
} from '../src/auth/credentials';
import { createConsumer } from '../src/service/consumer';
import type { Envelope } from '../src/events';
import { createHttpApp } from '../src/service/http-app';
import { silentLogger } from '../src/service/logger';
import { MemoryBus, signedDeliveryHeaders } from '../src/testing';
import { createDeliveryRouter } from '../src/transport/http';

const CURRENT = 'the-current-secret-of-query-0123456789abc';
const PREVIOUS = 'the-previous-secret-of-query-0123456789ab';
const OTHER = 'the-secret-of-another-service-0123456789a';
const FAR_FUTURE_SEQ = 9007199254740990;

const now = () => Math.floor(Date.now() / 1000);

interface Delivery {
  readonly body: string;
  readonly headers: Record<string, string>;
}

/** A delivery as the bus makes it: the body and its cursor signed with every given secret. */
function signed(
  body: unknown,
  {
    secrets = [CURRENT],
    timestamp = now(),
    id = 'delivery-1',
    cursor,
  }: { secrets?: string[]; timestamp?: number; id?: string; cursor?: number } = {},
): Delivery {
  const text = JSON.stringify(body);
  const cursorText = cursor === undefined ? undefined : String(cursor);
  return {
    body: text,
    headers: signedDeliveryHeaders(secrets, { id, timestamp, cursor: cursorText, body: text }),
  };
}

/** A signed delivery whose cursor header is then changed (or removed) on the way. */
function withCursor(delivery: Delivery, cursor: string | undefined): Delivery {
  const { [BUS_CURSOR_HEADER]: _signed, ...rest } = delivery.headers;
  return { ...delivery, headers: cursor === undefined ? rest : { ...rest, [BUS_CURSOR_HEADER]: cursor } };
}

/** A subscriber holding CURRENT and PREVIOUS (a rotation), caught up with a log of one post; the next post is stored, not yet delivered. */
async function subscriber() {
  const bus = new MemoryBus({ deliverySecrets: [CURRENT, PREVIOUS] });
  await bus.publish({ type: 'PostCreated', id: 'PostCreated:p1', data: { id: 'p1', title: 'First' } });
  const applied: Envelope[] = [];
  const consumer = createConsumer({
    name: 'query',
    bus,
    types: ['PostCreated'],
    apply: (event) => void applied.push(event),
    logger: silentLogger(),
  });
  await consumer.start();
  const app = createHttpApp({
    logger: silentLogger(),
    isReady: () => consumer.isReady,
    routes: (a) => a.use(createDeliveryRouter(consumer, { secrets: [CURRENT, PREVIOUS] })),
  });
  await bus.publish({ type: 'PostCreated', id: 'PostCreated:p2', data: { id: 'p2', title: 'Second' } });
  const next = bus.log[1]!;
  const send = ({ body, headers }: Delivery) =>
    request(app).post('/events').set('content-type', 'application/json').set(headers).send(body);
  return { bus, consumer, applied, next, send };
}

describe('POST /events (the HTTP transport delivering to a subscriber)', () => {
  it('applies a delivery signed with the current secret', async () => {
    const { applied, next, send } = await subscriber();

    const res = await send(signed(next, { cursor: 1 }));

    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok', position: 2 });
    expect(applied.map((event) => event.seq)).toEqual([1, 2]);
  });

  it.each([
    ['the previous secret alone (the bus has not read the rotated file yet)', [PREVIOUS]],
    ['both secrets, the new one first', [CURRENT, PREVIOUS]],
    ['a secret the subscriber does not hold beside one it does', [OTHER, CURRENT]],
  ])('accepts a delivery signed with %s', async (_case, secrets) => {
    const { applied, next, send } = await subscriber();

    await send(signed(next, { secrets })).expect(200);

    expect(applied).toHaveLength(2);
  });

  /** Forged or altered deliveries: each refused with its status, naming the header or field, and nothing changes. */
  const FORGED: readonly {
    name: string;
    make: (next: Envelope) => Delivery;
    status: number;
    message: string;
    filledFromLog?: boolean;
  }[] = [
    {
      name: 'unsigned',
      make: (next) => ({ body: JSON.stringify(next), headers: {} }),
      status: 401,
      message: 'x-bus-signature: is required',
    },
    {
      name: 'signed with another service’s secret',
      make: (next) => signed(next, { secrets: [OTHER] }),
      status: 401,
      message: 'x-bus-signature: does not match the body and x-bus-cursor',
    },
    {
      name: 'signed over another delivery id',
      make: (next) => ({
        ...signed(next),
        headers: { ...signed(next).headers, [BUS_DELIVERY_ID_HEADER]: 'delivery-2' },
      }),
      status: 401,
      message: 'x-bus-signature: does not match the body and x-bus-cursor',
    },
    {
      name: 'stale (signed an hour ago)',
      make: (next) => signed(next, { timestamp: now() - 3600 }),
      status: 401,
      message: 'x-bus-timestamp: must be Unix seconds within 300 s of now',
    },
    {
      name: 'dated an hour ahead',
      make: (next) => signed(next, { timestamp: now() + 3600 }),
      status: 401,
      message: 'x-bus-timestamp',
    },
    {
      name: 'with a garbled timestamp',
      make: (next) => ({ ...signed(next), headers: { ...signed(next).headers, [BUS_TIMESTAMP_HEADER]: 'soon' } }),
      status: 401,
      message: 'x-bus-timestamp',
    },
    {
      name: 'with a garbled signature',
      make: (next) => ({ ...signed(next), headers: { ...signed(next).headers, [BUS_SIGNATURE_HEADER]: 'v2=zz' } }),
      status: 401,
      message: 'x-bus-signature: must be',
    },
    {
      name: 'with its body changed after signing',
      make: (next) => ({ ...signed(next), body: JSON.stringify({ ...next, data: { id: 'p2', title: 'Changed' } }) }),
      status: 401,
      message: 'x-bus-signature: does not match the body and x-bus-cursor',
    },
    {
      name: 'with its body re-encoded after signing (same JSON value, other bytes)',
      make: (next) => ({ ...signed(next), body: JSON.stringify(next, null, 1) }),
      status: 401,
      message: 'x-bus-signature: does not match the body and x-bus-cursor',
    },
    {
      name: 'signed, with a seq far past the log',
      make: (next) => signed({ ...next, seq: FAR_FUTURE_SEQ }),
      status: 422,
      message: `seq: ${FAR_FUTURE_SEQ} is past the end of the log (2)`,
    },
    {
      name: 'signed, with a seq far past the log and a cursor that claims nothing was skipped',
      make: (next) => signed({ ...next, seq: FAR_FUTURE_SEQ }, { cursor: 1 }),
      status: 422,
      message: `seq: ${FAR_FUTURE_SEQ} is past the end of the log (2)`,
    },
    {
      name: 'signed, with the seq just past the log (the gap before it is filled from the log, as for any delivery)',
      make: (next) => signed({ ...next, seq: 3 }),
      status: 422,
      message: 'seq: 3 is past the end of the log (2)',
      filledFromLog: true,
    },
    {
      name: 'signed, with a cursor far past the log',
      make: (next) => signed(next, { cursor: FAR_FUTURE_SEQ }),
      status: 422,
      message: `x-bus-cursor: ${FAR_FUTURE_SEQ} is past the end of the log (2)`,
    },
    {
      name: 'with its cursor raised after signing (so that it would skip events)',
      make: (next) => withCursor(signed({ ...next, seq: 3 }, { cursor: 1 }), '2'),
      status: 401,
      message: 'x-bus-signature: does not match the body and x-bus-cursor',
    },
    {
      name: 'with its cursor lowered after signing',
      make: (next) => withCursor(signed(next, { cursor: 1 }), '0'),
      status: 401,
      message: 'x-bus-signature: does not match the body and x-bus-cursor',
    },
    {
      name: 'with its cursor removed after signing',
      make: (next) => withCursor(signed(next, { cursor: 1 }), undefined),
      status: 401,
      message: 'x-bus-signature: does not match the body and x-bus-cursor',
    },
    {
      name: 'with a cursor added to a delivery signed without one',
      make: (next) => withCursor(signed(next), '1'),
      status: 401,
      message: 'x-bus-signature: does not match the body and x-bus-cursor',
    },
    {
      name: 'signed with the v1 scheme (the body alone): its cursor could have been changed',
      make: (next) => {
        const delivery = signed(next, { cursor: 1 });
        const [, hex] = delivery.headers[BUS_SIGNATURE_HEADER]!.split('=');
        return { ...delivery, headers: { ...delivery.headers, [BUS_SIGNATURE_HEADER]: `v1=${hex}` } };
      },
      status: 401,
      message: 'x-bus-signature: must be up to 8 "v2=<64 hex digits>"',
    },
    {
      name: 'with a cursor that is not a number',
      make: (next) => signed(next, { cursor: -1 }),
      status: 400,
      message: 'x-bus-cursor: must be a whole number',
    },
  ];

  it.each(FORGED)(
    'refuses a delivery $name with $status and applies nothing of it',
    async ({ make, status, message, filledFromLog = false }) => {
      const { consumer, applied, next, send } = await subscriber();

      const res = await send(make(next));

      expect(res.status).toBe(status);
      expect(res.body.message).toContain(message);
      expect(applied).toEqual(filledFromLog ? [expect.anything(), next] : [expect.anything()]);
      expect(consumer.currentPosition).toBe(filledFromLog ? 2 : 1);
      // Not frozen: the real delivery still applies.
      await send(signed(next, { id: 'delivery-real' })).expect(200);
      expect(applied.map((event) => event.seq)).toEqual([1, 2]);
    },
  );

  it('changes nothing when a captured fresh delivery is sent again', async () => {
    const { applied, next, send } = await subscriber();
    const captured = signed(next, { cursor: 1 });
    await send(captured).expect(200);

    const replayed = await send(captured);

    expect(replayed.status).toBe(200);
    expect(replayed.body.position).toBe(2);
    expect(applied.map((event) => event.seq)).toEqual([1, 2]);
  });

  it('answers 503 during the startup replay, after checking the signature, and applies nothing', async () => {
    const bus = new MemoryBus();
    const consumer = createConsumer({
      name: 'query',
      bus,
      types: ['PostCreated'],
      apply: () => undefined,
      logger: silentLogger(),
    });
    const app = createHttpApp({
      logger: silentLogger(),
      routes: (a) => a.use(createDeliveryRouter(consumer, { secrets: [CURRENT] })),
    });
    const event = {
      id: 'PostCreated:p1',
      seq: 1,
      type: 'PostCreated',
      data: { id: 'p1', title: 'First' },
      time: '2026-01-01T00:00:00.000Z',
    };
    const { body, headers } = signed(event);

    const unsigned = await request(app).post('/events').set('content-type', 'application/json').send(body);
    const early = await request(app).post('/events').set('content-type', 'application/json').set(headers).send(body);

    expect(unsigned.status).toBe(401);
    expect(early.status).toBe(503);
    expect(early.body.message).toBe('query: catching up with the log, deliver again later');
    expect(consumer.currentPosition).toBe(0);
  });
});
