import { sendRaw, type RawAnswer } from '../support/raw-request';
import { startFaultSystem, type FaultSystem } from './support/fault-system';
import { getJson } from './support/http';
import { subscriptions } from './support/subscriptions';

/**
 * Hostile request targets through the real gateway to the real system: however a path is written
 * (encoded slashes and dots, repeated slashes, an absolute URL, backslashes, a NUL, an overlong
 * line), nothing reaches the bus's API or its admin routes, nothing is stored, no cursor moves,
 * and no answer is a 5xx or shows a stack trace. Which service each target reaches, and why, is
 * in launcher/test/gateway.test.ts and infra/test/request-target.test.ts.
 */

jest.setTimeout(120_000);

const EVENT = JSON.stringify({
  type: 'PostCreated',
  id: 'PostCreated:forged-path',
  data: { id: 'forged-path', title: 'forged through a hostile path' },
});
const CURSOR = JSON.stringify({ cursor: 0 });

/** Method, target as sent, body. */
const HOSTILE: readonly (readonly [string, string, string?])[] = [
  ['PUT', '//admin/subscriptions/query/cursor', CURSOR],
  ['PUT', '///admin//subscriptions/query/cursor', CURSOR],
  ['POST', '//admin/subscriptions/query/parked/1/replay'],
  ['GET', '/%2Fadmin/parked'],
  ['PUT', '/%2fadmin/subscriptions/query/cursor', CURSOR],
  ['POST', '/flow/../events', EVENT],
  ['POST', '/flow/%2e%2e/events', EVENT],
  ['POST', '/flow/%2E%2E/%2E%2E/events', EVENT],
  ['POST', '/subscriptions/..%2f..%2fadmin', CURSOR],
  ['PUT', '/subscriptions/%2e%2e/admin/subscriptions/query/cursor', CURSOR],
  ['GET', '//a@/flow'],
  ['POST', '//a@/events', EVENT],
  ['GET', 'http://x/admin/parked'],
  ['POST', 'http://event-bus-srv:4005/events', EVENT],
  ['PUT', 'http://127.0.0.1/admin/subscriptions/query/cursor', CURSOR],
  ['POST', '/flow\\..\\events', EVENT],
  ['POST', '/subscriptions\\..\\admin\\subscriptions\\query\\cursor', CURSOR],
  ['POST', '/flow/%5c..%5cevents', EVENT],
  ['POST', '/flow/\0/../events', EVENT],
  ['POST', '/flow/%00/../events', EVENT],
  ['GET', `/flow/${'a'.repeat(9000)}`],
  ['GET', `/subscriptions/${'%2e%2e/'.repeat(2000)}admin/parked`],
  ['OPTIONS', '*'],
];

let fault: FaultSystem;

beforeAll(async () => {
  fault = await startFaultSystem({ name: 'gateway-paths' });
});

afterAll(async () => {
  await fault?.stop();
});

/** The log's head, as the public flow view shows it. */
const head = async () => (await getJson<{ head: number }>(fault.gateway, '/flow?after=0&limit=1')).head;

describe('hostile request targets through the gateway', () => {
  it("never reach the bus's API or admin routes, store nothing, move no cursor, and never answer 5xx or with a stack trace", async () => {
    const headBefore = await head();
    const cursorsBefore = await subscriptions(fault.gateway);

    const answers: RawAnswer[] = [];
    for (const [method, target, body] of HOSTILE) answers.push(await sendRaw(fault.gateway, method, target, body));

    expect(
      answers
        .filter(({ status }) => status === 0 || status >= 500)
        .map(({ request, status }) => `${request} → ${status}`),
    ).toEqual([]);
    expect(answers.filter(({ text }) => /\n\s+at |\.[jt]s:\d+/.test(text)).map(({ request }) => request)).toEqual([]);
    // The bus's API answers with these fields; the client's pages and the gateway's refusals have none of them.
    expect(
      answers
        .filter(({ text }) => /"(seq|cursor|parked|results|duplicate)"|forged/.test(text))
        .map(({ request, text }) => `${request} → ${text.slice(0, 200)}`),
    ).toEqual([]);
    expect(await head()).toBe(headBefore);
    const cursorsAfter = await subscriptions(fault.gateway);
    expect(
      [...cursorsBefore]
        .filter(([name, status]) => cursorsAfter.get(name)!.cursor !== status.cursor)
        .map(([name]) => name),
    ).toEqual([]);
  });
});
