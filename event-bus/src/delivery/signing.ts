import {
  BUS_CURSOR_HEADER,
  BUS_DELIVERY_ID_HEADER,
  BUS_SIGNATURE_HEADER,
  BUS_TIMESTAMP_HEADER,
  signDelivery,
  type Secrets,
} from '@mini-blog/common/auth';

/**
 * The headers of one delivery attempt. Always signed, the cursor with the body: one `v2=` signature
 * per secret of the subscriber's credential, so that during a rotation it can check the delivery with whichever
 * secret it already has; the timestamp is this attempt's, so a retry is never stale.
 */
export function deliveryHeaders(
  secrets: Secrets,
  deliveryId: string,
  body: string,
  acked: number,
  nowMs = Date.now(),
): Record<string, string> {
  const timestamp = Math.floor(nowMs / 1000);
  const cursor = String(acked);
  return {
    'content-type': 'application/json',
    [BUS_CURSOR_HEADER]: cursor,
    [BUS_DELIVERY_ID_HEADER]: deliveryId,
    [BUS_TIMESTAMP_HEADER]: String(timestamp),
    [BUS_SIGNATURE_HEADER]: signDelivery(secrets, { id: deliveryId, timestamp, cursor, body }),
  };
}
