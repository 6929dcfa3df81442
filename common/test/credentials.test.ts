import { createHmac } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  bearerToken,
  deliveryKey,
  readCredential,
  signDelivery,
  SIGNATURE_TOLERANCE_S,
  verifyDelivery,
} from '../src/auth/credentials';
import { ConfigError } from '../src/service/config';

const SECRET = 'a'.repeat(43);
const NEXT = 'b'.repeat(43);

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'credentials-'));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('readCredential', () => {
  it('reads one secret a line, current first, skipping blank lines and surrounding blanks', () => {
    writeFileSync(path.join(dir, 'query'), `${NEXT}\n\n  ${SECRET}  \r\n`);

    expect(readCredential(dir, 'query')).toEqual([NEXT, SECRET]);
  });

  it.each([
    ['a missing file', undefined, 'does not exist; start the system with `npm start`'],
    ['an empty file', '\n\n', 'is empty; it must hold one secret a line'],
    ['a short secret', `${SECRET}\nshort\n`, 'line 2 must be at least 32 characters'],
  ])('throws a ConfigError naming the file for %s', (_case, content, rule) => {
    const file = path.join(dir, 'posts');
    if (content !== undefined) writeFileSync(file, content);

    expect(() => readCredential(dir, 'posts')).toThrow(ConfigError);
    expect(() => readCredential(dir, 'posts')).toThrow(`credential ${file}: ${rule}`);
  });

  it('says why when the path cannot be read as a file', () => {
    const file = path.join(dir, 'posts');
    mkdirSync(file);

    expect(() => readCredential(dir, 'posts')).toThrow(`credential ${file}: cannot be read (EISDIR)`);
  });
});

describe('bearerToken', () => {
  it('is the secret itself', () => {
    expect(bearerToken(SECRET)).toBe(SECRET);
  });
});

describe('delivery signatures', () => {
  const delivery = { id: 'delivery-1', timestamp: 1_700_000_000, cursor: '41', body: '{"seq":42}' };
  const now = delivery.timestamp + 10;

  it('keys the HMAC with a key derived from the secret, over the id, time, cursor and body', () => {
    const key = createHmac('sha256', SECRET).update('mini-blog delivery signing v1').digest('hex');
    const expected = createHmac('sha256', key)
      .update(`v2.delivery-1.${delivery.timestamp}.41.{"seq":42}`)
      .digest('hex');

    expect(deliveryKey(SECRET)).toBe(key);
    expect(signDelivery([SECRET], delivery)).toBe(`v2=${expected}`);
  });

  it('signs once per secret, in the order of the file', () => {
    const header = signDelivery([NEXT, SECRET], delivery);

    expect(header.split(' ')).toEqual([signDelivery(NEXT, delivery), signDelivery(SECRET, delivery)]);
  });

  it('verifies against any of the subscriber’s secrets, the body as a string or as bytes', () => {
    const signature = signDelivery([NEXT], delivery);
    const signed = { ...delivery, timestamp: String(delivery.timestamp), signature };

    expect(verifyDelivery([SECRET, NEXT], signed, now)).toEqual({ ok: true });
    expect(verifyDelivery([SECRET, NEXT], { ...signed, body: Buffer.from(delivery.body) }, now)).toEqual({ ok: true });
    expect(verifyDelivery([SECRET], signed, now)).toEqual({
      ok: false,
      reason: 'x-bus-signature: does not match the body and x-bus-cursor',
    });
  });

  it.each([
    ['a lowered cursor', delivery.cursor, { cursor: '0' }],
    ['a raised cursor', delivery.cursor, { cursor: '9007199254740990' }],
    ['a cursor removed', delivery.cursor, { cursor: undefined }],
    ['a cursor added where there was none', undefined, { cursor: '41' }],
    ['the body changed', delivery.cursor, { body: '{"seq":43}' }],
    ['another delivery id', delivery.cursor, { id: 'delivery-2' }],
  ])('refuses %s', (_case, signedCursor, change) => {
    const signature = signDelivery([SECRET], { ...delivery, cursor: signedCursor });
    const sent = { ...delivery, cursor: signedCursor, timestamp: String(delivery.timestamp), signature, ...change };

    expect(verifyDelivery([SECRET], sent, now)).toMatchObject({ ok: false });
    expect(
      verifyDelivery([SECRET], { ...sent, id: delivery.id, body: delivery.body, cursor: signedCursor }, now),
    ).toEqual({ ok: true });
  });

  it('refuses a v1 signature (the body alone, without the cursor) even when it matches', () => {
    const key = deliveryKey(SECRET);
    const v1 = createHmac('sha256', key).update(`delivery-1.${delivery.timestamp}.{"seq":42}`).digest('hex');

    expect(
      verifyDelivery([SECRET], { ...delivery, timestamp: String(delivery.timestamp), signature: `v1=${v1}` }, now),
    ).toEqual({ ok: false, reason: 'x-bus-signature: must be up to 8 "v2=<64 hex digits>" separated by spaces' });
  });

  it(`accepts a timestamp up to ${SIGNATURE_TOLERANCE_S} s away, and not one second more`, () => {
    const signature = signDelivery([SECRET], delivery);
    const at = (nowS: number) =>
      verifyDelivery([SECRET], { ...delivery, timestamp: String(delivery.timestamp), signature }, nowS).ok;

    expect([at(delivery.timestamp + SIGNATURE_TOLERANCE_S), at(delivery.timestamp - SIGNATURE_TOLERANCE_S)]).toEqual([
      true,
      true,
    ]);
    expect([
      at(delivery.timestamp + SIGNATURE_TOLERANCE_S + 1),
      at(delivery.timestamp - SIGNATURE_TOLERANCE_S - 1),
    ]).toEqual([false, false]);
  });

  it('refuses more than 8 signatures in one header, whatever they are', () => {
    const one = signDelivery([SECRET], delivery);
    const signature = Array(9).fill(one).join(' ');

    expect(
      verifyDelivery([SECRET], { ...delivery, timestamp: String(delivery.timestamp), signature }, now),
    ).toMatchObject({ ok: false });
  });
});
