import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../service/config-error';

/**
 * Credentials: one file per principal (`posts`, `comments`, `moderation`, `query`, `admin`) in the
 * folder `CREDENTIALS_DIR`, one secret a line. The first line is the current secret (the one sent
 * and signed with); further lines are still accepted, so a secret can be rotated without a moment
 * in which the two sides disagree.
 */

/** Shorter secrets are refused: the launcher makes 32 random bytes (43 characters of base64url). */
export const MIN_SECRET_LENGTH = 32;

/** What to do when a credential is missing, for the messages below. */
const HOW_TO_FIX =
  'start the system with `npm start` (it creates the credentials under the data folder) or set CREDENTIALS_DIR to the folder that holds them';

/** The secrets of one principal, current first. Throws a ConfigError naming the file and the rule. */
export function readCredential(dir: string, principal: string): readonly string[] {
  const file = path.join(dir, principal);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as { code?: string }).code;
    const why =
      code === 'ENOENT'
        ? 'does not exist'
        : code === 'EACCES'
          ? 'cannot be read (permission denied)'
          : `cannot be read (${code ?? String(err)})`;
    throw new ConfigError(`credential ${file}: ${why}; ${HOW_TO_FIX}`);
  }
  const secrets = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.length > 0);
  if (secrets.length === 0)
    throw new ConfigError(`credential ${file}: is empty; it must hold one secret a line, the current one first`);
  const short = secrets.findIndex((secret) => secret.length < MIN_SECRET_LENGTH);
  if (short >= 0)
    throw new ConfigError(`credential ${file}: line ${short + 1} must be at least ${MIN_SECRET_LENGTH} characters`);
  return secrets;
}

/** What a principal sends as `Authorization: Bearer <token>`: its current secret (the file's first line), as it is. */
export function bearerToken(secret: string): string {
  return secret;
}

/**
 * The key deliveries are signed with, derived from a secret rather than the secret itself: whoever
 * sees a signature learns nothing about the bearer token, and the two uses cannot be confused.
 */
export function deliveryKey(secret: string): string {
  return createHmac('sha256', secret).update('mini-blog delivery signing v1').digest('hex');
}

/** Headers of a signed delivery. */
export const BUS_DELIVERY_ID_HEADER = 'x-bus-delivery-id';
export const BUS_TIMESTAMP_HEADER = 'x-bus-timestamp';
export const BUS_SIGNATURE_HEADER = 'x-bus-signature';
/** The header in which the bus says up to which seq it has delivered to this subscriber before (signed with the body). */
export const BUS_CURSOR_HEADER = 'x-bus-cursor';
/** A delivery signed longer ago (or further ahead) than this is refused, so a captured one cannot be replayed later. */
export const SIGNATURE_TOLERANCE_S = 300;

/** What a delivery's signature covers: everything the subscriber acts on, as the exact text sent. */
export interface DeliveryContent {
  readonly id: string;
  /** Unix seconds. */
  readonly timestamp: number;
  /** The `x-bus-cursor` header as sent; undefined when there is none. */
  readonly cursor: string | undefined;
  /** The exact bytes of the body. */
  readonly body: string | Buffer;
}

/**
 * HMAC-SHA256, keyed with the secret's delivery key, over `v2.${id}.${timestamp}.${cursor}.${body}`
 * (the cursor empty when there is none). The cursor is covered because the subscriber acts on it:
 * it says that the seqs between it and the first event are filtered out, not a gap to fill, so a
 * cursor changed on the way would make the subscriber skip events. `v1` signed the body alone.
 */
function signature(secret: string, { id, timestamp, cursor, body }: DeliveryContent): Buffer {
  return createHmac('sha256', deliveryKey(secret))
    .update(`v2.${id}.${timestamp}.${cursor ?? ''}.`)
    .update(body)
    .digest();
}

/**
 * The `x-bus-signature` value of a delivery: `v2=<hex>` for each secret of the subscriber's file,
 * separated by spaces, so that a subscriber that knows only one of them (during a rotation) can
 * check it.
 */
export function signDelivery(secrets: string | readonly string[], delivery: DeliveryContent): string {
  const list = typeof secrets === 'string' ? [secrets] : secrets;
  return list.map((secret) => `v2=${signature(secret, delivery).toString('hex')}`).join(' ');
}

export interface SignedDelivery {
  readonly id: string | undefined;
  readonly timestamp: string | undefined;
  readonly signature: string | undefined;
  readonly cursor: string | undefined;
  readonly body: string | Buffer;
}

export type Verification = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/** Bounds the work one forged header can cause. */
const MAX_SIGNATURES = 8;
const SIGNATURE_PATTERN = /^v2=[0-9a-f]{64}$/;

/**
 * Checks a delivery against every secret of the subscriber's own file: valid when one `v2=`
 * signature matches one secret, and the timestamp is within the tolerance of `nowS`. The reason
 * names the header at fault. A `v1=` signature (a bus from before the cursor was signed) is refused:
 * accepting it would let whoever changes the cursor keep the old signature.
 */
export function verifyDelivery(
  secrets: readonly string[],
  delivery: SignedDelivery,
  nowS = Date.now() / 1000,
): Verification {
  const { id, timestamp, signature: header, cursor, body } = delivery;
  if (!id || !header) return { ok: false, reason: `${BUS_SIGNATURE_HEADER}: is required (deliveries must be signed)` };
  const seconds = Number(timestamp);
  if (!/^\d{1,12}$/.test(timestamp ?? '') || Math.abs(nowS - seconds) > SIGNATURE_TOLERANCE_S) {
    return {
      ok: false,
      reason: `${BUS_TIMESTAMP_HEADER}: must be Unix seconds within ${SIGNATURE_TOLERANCE_S} s of now`,
    };
  }
  const offered = header.split(' ').filter((part) => part.length > 0);
  if (offered.length > MAX_SIGNATURES || !offered.every((part) => SIGNATURE_PATTERN.test(part))) {
    return {
      ok: false,
      reason: `${BUS_SIGNATURE_HEADER}: must be up to ${MAX_SIGNATURES} "v2=<64 hex digits>" separated by spaces`,
    };
  }
  const candidates = offered.map((part) => Buffer.from(part.slice(3), 'hex'));
  const valid = secrets.some((secret) => {
    const expected = signature(secret, { id, timestamp: seconds, cursor, body });
    return candidates.some((candidate) => timingSafeEqual(expected, candidate));
  });
  return valid
    ? { ok: true }
    : { ok: false, reason: `${BUS_SIGNATURE_HEADER}: does not match the body and ${BUS_CURSOR_HEADER}` };
}
