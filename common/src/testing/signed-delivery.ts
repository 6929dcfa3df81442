import {
  BUS_CURSOR_HEADER,
  BUS_DELIVERY_ID_HEADER,
  BUS_SIGNATURE_HEADER,
  BUS_TIMESTAMP_HEADER,
  signDelivery,
} from '../auth/credentials';

/** What a test's delivery is signed over; `cursor` and `sentCursor` as the `x-bus-cursor` header says them. */
export interface SignedDeliveryOptions {
  readonly id: string;
  /** The exact bytes of the body. */
  readonly body: string | Buffer;
  /** Unix seconds; now unless set. */
  readonly timestamp?: number;
  /** The cursor signed with the body; none unless set. */
  readonly cursor?: string;
  /** The cursor header sent, when it differs from the one signed (changed on the way); `cursor` unless set. */
  readonly sentCursor?: string;
}

/**
 * The headers of a delivery signed as the bus signs it: its id, its timestamp and a signature with
 * each of `secrets` over them, the cursor and the body; and the cursor header when there is one.
 */
export function signedDeliveryHeaders(
  secrets: string | readonly string[],
  { id, body, timestamp = Math.floor(Date.now() / 1000), cursor, sentCursor = cursor }: SignedDeliveryOptions,
): Record<string, string> {
  return {
    [BUS_DELIVERY_ID_HEADER]: id,
    [BUS_TIMESTAMP_HEADER]: String(timestamp),
    [BUS_SIGNATURE_HEADER]: signDelivery(secrets, { id, timestamp, cursor, body }),
    ...(sentCursor === undefined ? {} : { [BUS_CURSOR_HEADER]: sentCursor }),
  };
}
