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
  const delivery = { id: 'delivery-1', timestamp: 1_700_000_000, body: '{"seq":1}' };
  const now = delivery.timestamp + 10;

  it('keys the HMAC with a key derived from the secret, not the secret', () => {
    const key = createHmac('sha256', SECRET).update('mini-blog delivery signing v1').digest('hex');
    const expected = createHmac('sha256', key).update(`delivery-1.${delivery.timestamp}.{"seq":1}`).digest('hex');

    expect(deliveryKey(SECRET)).toBe(key);
    expect(signDelivery([SECRET], delivery.id, delivery.timestamp, delivery.body)).toBe(`v1=${expected}`);
  });

  it('signs once per secret, in the order of the file', () => {
    const header = signDelivery([NEXT, SECRET], delivery.id, delivery.timestamp, delivery.body);

    expect(header.split(' ')).toEqual([
      signDelivery(NEXT, delivery.id, delivery.timestamp, delivery.body),
      signDelivery(SECRET, delivery.id, delivery.timestamp, delivery.body),
    ]);
  });

  it('verifies against any of the subscriber’s secrets, the body as a string or as bytes', () => {
    const signature = signDelivery([NEXT], delivery.id, delivery.timestamp, delivery.body);
    const signed = { id: delivery.id, timestamp: String(delivery.timestamp), signature };

    expect(verifyDelivery([SECRET, NEXT], { ...signed, body: delivery.body }, now)).toEqual({ ok: true });
    expect(verifyDelivery([SECRET, NEXT], { ...signed, body: Buffer.from(delivery.body) }, now)).toEqual({ ok: true });
    expect(verifyDelivery([SECRET], { ...signed, body: delivery.body }, now)).toEqual({
      ok: false,
      reason: 'x-bus-signature: does not match',
    });
  });

  it(`accepts a timestamp up to ${SIGNATURE_TOLERANCE_S} s away, and not one second more`, () => {
    const signature = signDelivery([SECRET], delivery.id, delivery.timestamp, delivery.body);
    const at = (nowS: number) =>
      verifyDelivery(
        [SECRET],
        { id: delivery.id, timestamp: String(delivery.timestamp), signature, body: delivery.body },
        nowS,
      ).ok;

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
    const one = signDelivery([SECRET], delivery.id, delivery.timestamp, delivery.body);
    const signature = Array(9).fill(one).join(' ');

    expect(
      verifyDelivery(
        [SECRET],
        { id: delivery.id, timestamp: String(delivery.timestamp), signature, body: delivery.body },
        now,
      ),
    ).toMatchObject({ ok: false });
  });
});
