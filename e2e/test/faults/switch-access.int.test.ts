import type { SupervisorView } from '@mini-blog/common/events';
import { SERVICE_NAMES } from '@mini-blog/common/registry';
import { startFaultSystem, type FaultSystem } from './support/fault-system';
import { call, getJson, rawRequest } from './support/http';

/**
 * Who can reach the fault switches, through the gateway as a browser or anyone on the network
 * would: without `--faults` their routes do not exist, whoever asks; with it, nobody but the admin
 * credential moves anything, however the path is written. The supervisor's view is public and
 * read-only, and shows no secret.
 */

jest.setTimeout(120_000);

const PAUSE = JSON.stringify({ paused: true });
const JSON_TYPE = { 'content-type': 'application/json' };

/** Every way of writing "stop posts" and "pause query" that a path trick might try. */
const TRICKS: readonly (readonly [string, string, string?])[] = [
  ['POST', '/launcher/faults/services/posts/stop'],
  ['POST', '//launcher//faults/services/posts/stop'],
  ['POST', '/launcher/%66aults/services/posts/stop'],
  ['POST', '/%6Cauncher/faults/services/posts/stop'],
  ['POST', '/flow/../launcher/faults/services/posts/stop'],
  ['POST', '/posts/%2e%2e/launcher/faults/services/posts/stop'],
  ['POST', '/subscriptions/..%2flauncher/faults/services/posts/stop'],
  ['POST', '/launcher/faults/services/posts/stop/.'],
  ['POST', '/LAUNCHER/faults/services/posts/stop'],
  ['PATCH', '/launcher/faults/deliveries/query', PAUSE],
  ['PATCH', '/launcher/./faults/deliveries/query', PAUSE],
  ['DELETE', '/launcher/faults'],
  ['PUT', '/launcher/faults/log', JSON.stringify({ slowMs: 5000 })],
  // The bus's own switches are on its API port, which the gateway never reaches.
  ['PATCH', '/admin/faults/deliveries/query', PAUSE],
  ['PATCH', '/subscriptions/../admin/faults/deliveries/query', PAUSE],
  ['PATCH', '/flow/%2e%2e/admin/faults/deliveries/query', PAUSE],
];

const send = (fault: FaultSystem, [method, target, body]: readonly [string, string, string?], headers = {}) =>
  rawRequest(fault.gateway, method, target, { ...(body ? JSON_TYPE : {}), ...headers }, Buffer.from(body ?? ''));

/** Nothing moved: every process runs, and no switch of the bus is on. */
async function expectNothingMoved(fault: FaultSystem): Promise<void> {
  const view = await getJson<SupervisorView>(fault.gateway, '/launcher/services');
  expect(view.services.filter((service) => service.state !== 'running').map((service) => service.name)).toEqual([]);
  const bus = await call(fault.bus, 'GET', '/admin/faults', undefined, { headers: fault.auth('admin') });
  if (bus.status === 200) expect(bus.json).toEqual({ deliveries: {}, log: { slowMs: 0 } });
  else expect(bus.status).toBe(404);
}

describe('without --faults', () => {
  let fault: FaultSystem;
  beforeAll(async () => {
    fault = await startFaultSystem({ name: 'switches-off' });
  });
  afterAll(async () => {
    await fault?.stop();
  });

  it('shows the supervisor view, public and read-only, with the switches off', async () => {
    const view = await getJson<SupervisorView>(fault.gateway, '/launcher/services');

    expect(view).toMatchObject({ transport: 'http', switches: false });
    expect(view.faults).toBeUndefined();
    expect(view.services.map((service) => service.name)).toEqual(SERVICE_NAMES);
    expect(view.services.every((service) => service.state === 'running' && service.ready)).toBe(true);
    const text = JSON.stringify(view);
    for (const principal of ['admin', 'posts', 'query'])
      expect(text).not.toContain(fault.auth(principal).authorization.slice('Bearer '.length));
    expect(text).not.toMatch(/127\.0\.0\.1|localhost|:\d{4,5}\b|pid/);
    expect((await call(fault.gateway, 'POST', '/launcher/services', {})).status).toBe(404);
  });

  it('has no fault switch route, even for the admin credential: 404, and nothing moves', async () => {
    const answers = await Promise.all(
      TRICKS.map(async (trick) => ({
        trick: trick.slice(0, 2).join(' '),
        answer: await send(fault, trick, fault.auth('admin')),
      })),
    );

    expect(
      answers.filter(({ answer }) => answer.status !== 404).map(({ trick, answer }) => `${trick} → ${answer.status}`),
    ).toEqual([]);
    const read = await call(fault.gateway, 'GET', '/launcher/faults', undefined, {
      headers: { ...fault.auth('admin'), accept: 'application/json' },
    });
    expect(read.status).toBe(404);
    await expectNothingMoved(fault);
  });
});

describe('with --faults', () => {
  let fault: FaultSystem;
  beforeAll(async () => {
    fault = await startFaultSystem({ name: 'switches-on', faultSwitches: true });
  });
  afterAll(async () => {
    await fault?.stop();
  });

  it("refuses without a credential (401), with another principal's (403), however the path is written; nothing moves", async () => {
    const anonymous = await Promise.all(TRICKS.map((trick) => send(fault, trick)));
    const service = await Promise.all(TRICKS.map((trick) => send(fault, trick, fault.auth('posts'))));
    const forged = await Promise.all(
      TRICKS.map((trick) => send(fault, trick, { authorization: 'Bearer not-a-token' })),
    );

    const statuses = (answers: readonly { status: number }[]) =>
      [...new Set(answers.map((answer) => answer.status))].sort();
    // The launcher's paths as nginx reads them need a credential; the rest never leave the client's 404.
    expect(statuses(anonymous)).toEqual([401, 404]);
    expect(statuses(service)).toEqual([403, 404]);
    expect(statuses(forged)).toEqual([401, 404]);
    expect(anonymous.find((answer) => answer.status === 401)!.headers.get('www-authenticate')).toBe('Bearer');
    expect(service.find((answer) => answer.status === 403)!.json).toEqual({
      message: 'authorization: posts may not use the fault switches',
    });
    await expectNothingMoved(fault);
  });

  it('lets the admin credential set a switch and undo everything, and shows it in the public view', async () => {
    const auth = fault.auth('admin');
    const set = await call(
      fault.gateway,
      'PATCH',
      '/launcher/faults/deliveries/query',
      { paused: true },
      { headers: auth },
    );
    const view = await getJson<SupervisorView>(fault.gateway, '/launcher/services');
    const undone = await call(fault.gateway, 'DELETE', '/launcher/faults', undefined, { headers: auth });

    expect(set.status).toBe(200);
    expect(set.json).toEqual({
      deliveries: { query: { paused: true, latencyMs: 0, failing: false } },
      log: { slowMs: 0 },
    });
    expect(view).toMatchObject({ switches: true, faults: { deliveries: { query: { paused: true } } } });
    expect(undone.status).toBe(200);
    expect((undone.json as SupervisorView).faults).toEqual({ deliveries: {}, log: { slowMs: 0 } });
  });

  it('refuses bad input with a 4xx naming the field', async () => {
    const auth = fault.auth('admin');
    const answers = await Promise.all([
      call(fault.gateway, 'PATCH', '/launcher/faults/deliveries/query', { latencyMs: -5 }, { headers: auth }),
      call(fault.gateway, 'PATCH', '/launcher/faults/deliveries/nobody', { paused: true }, { headers: auth }),
      call(fault.gateway, 'POST', '/launcher/faults/services/posts/explode', undefined, { headers: auth }),
      call(fault.gateway, 'POST', '/launcher/faults/services/nobody/stop', undefined, { headers: auth }),
      call(fault.gateway, 'PUT', '/launcher/faults/log', { slowMs: 'slow' }, { headers: auth }),
    ]);

    expect(answers.map((answer) => [answer.status, (answer.json as { message: string }).message])).toEqual([
      [400, expect.stringContaining('latencyMs')],
      [404, expect.stringContaining('nobody')],
      [400, 'action: must be stop, start or restart'],
      [404, expect.stringContaining('service: must be one of event-bus, posts')],
      [400, expect.stringContaining('slowMs')],
    ]);
    await expectNothingMoved(fault);
  });
});
