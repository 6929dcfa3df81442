import request from 'supertest';
import { BUS_DELIVERY_ID_HEADER, BUS_SIGNATURE_HEADER, BUS_TIMESTAMP_HEADER, createConsumer, signDelivery } from '../src/consumer';
import type { Envelope } from '../src/events';
import { createHttpApp } from '../src/service/http-app';
import { silentLogger } from '../src/service/logger';
import { MemoryBus } from '../src/testing';

const OLD_SECRET = 'old-secret-0123456789';
const NEW_SECRET = 'new-secret-9876543210';

describe('signed deliveries', () => {
  const event: Envelope = { id: 'PostCreated:p1', seq: 1, type: 'PostCreated', data: { id: 'p1', title: 'Hello' }, time: '2026-01-01T00:00:00.000Z' };
  const body = JSON.stringify(event);
  const now = () => Math.floor(Date.now() / 1000);

  async function consumerApp(secrets?: readonly string[]) {
    const applied: Envelope[] = [];
    const consumer = createConsumer({ name: 'test', bus: new MemoryBus(), types: ['PostCreated'], apply: (e) => void applied.push(e), logger: silentLogger(), secrets });
    await consumer.start();
    return { applied, app: createHttpApp({ logger: silentLogger(), routes: (app) => app.use(consumer.router) }) };
  }

  const deliver = (app: Parameters<typeof request>[0], headers: Record<string, string>) =>
    request(app).post('/events').set('content-type', 'application/json').set(headers).send(body);

  const signed = (secret: string, timestamp = now(), id = 'delivery-1') => ({
    [BUS_DELIVERY_ID_HEADER]: id,
    [BUS_TIMESTAMP_HEADER]: String(timestamp),
    [BUS_SIGNATURE_HEADER]: signDelivery(secret, id, timestamp, body),
  });

  it('accepts a delivery signed with the configured secret', async () => {
    const { app, applied } = await consumerApp([NEW_SECRET]);

    await deliver(app, signed(NEW_SECRET)).expect(200);

    expect(applied).toHaveLength(1);
  });

  it('accepts either secret during a rotation', async () => {
    const { app, applied } = await consumerApp([NEW_SECRET, OLD_SECRET]);

    await deliver(app, signed(OLD_SECRET)).expect(200);
    await deliver(app, signed(NEW_SECRET, now(), 'delivery-2')).expect(200);

    expect(applied).toHaveLength(1);
  });

  it.each([
    ['an unsigned delivery', {}, 'x-bus-signature: is required'],
    ['a wrong secret', signed('some-other-secret-000'), 'x-bus-signature: does not match'],
    ['a signature of another delivery id', { ...signed(NEW_SECRET), [BUS_DELIVERY_ID_HEADER]: 'delivery-2' }, 'does not match'],
    ['a stale timestamp', signed(NEW_SECRET, now() - 3600), 'x-bus-timestamp: must be within 300 s of now'],
    ['a garbled timestamp', { ...signed(NEW_SECRET), [BUS_TIMESTAMP_HEADER]: 'soon' }, 'x-bus-timestamp'],
  ])('refuses %s with 401 and applies nothing', async (_case, headers, message) => {
    const { app, applied } = await consumerApp([NEW_SECRET]);

    const res = await deliver(app, headers).expect(401);

    expect(res.body.message).toContain(message);
    expect(applied).toHaveLength(0);
  });

  it('refuses a body changed after signing', async () => {
    const { app } = await consumerApp([NEW_SECRET]);
    const tampered = JSON.stringify({ ...event, data: { id: 'p1', title: 'Changed' } });

    await request(app).post('/events').set('content-type', 'application/json').set(signed(NEW_SECRET)).send(tampered).expect(401);
  });

  it('accepts unsigned deliveries when no secret is configured', async () => {
    const { app } = await consumerApp();

    await deliver(app, {}).expect(200);
  });
});
