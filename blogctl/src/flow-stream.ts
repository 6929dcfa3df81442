import { BlogctlError, reason } from './http';

/** One server-sent event: its `event:` name and its `data:`. */
export interface StreamEvent {
  readonly event: string;
  readonly data: string;
}

/** The longest event blogctl holds while waiting for its end; the flow's are some 200 bytes. */
export const MAX_EVENT_BYTES = 64 * 1024;

/**
 * Reads a `text/event-stream` until it ends or `signal` aborts, calling `onEvent` for each event;
 * comment lines (the heartbeats) are skipped. `onEvent` returns false to stop reading.
 */
export async function readEventStream(
  url: URL,
  signal: AbortSignal,
  onEvent: (event: StreamEvent) => boolean,
): Promise<void> {
  let res: Response;
  try {
    res = await fetch(url, { headers: { accept: 'text/event-stream' }, signal });
  } catch (err) {
    if (signal.aborted) return;
    throw new BlogctlError(`cannot reach ${url.origin}: ${reason(err)}`);
  }
  if (!res.ok || !res.body) throw new BlogctlError(`${url.pathname}: HTTP ${res.status}`);
  const decoder = new TextDecoder();
  let pending = '';
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      pending += decoder.decode(chunk, { stream: true }).replace(/\r\n?/g, '\n');
      let end: number;
      while ((end = pending.indexOf('\n\n')) >= 0) {
        const block = pending.slice(0, end);
        pending = pending.slice(end + 2);
        const event = parseBlock(block);
        if (event && !onEvent(event)) return;
      }
      if (Buffer.byteLength(pending) > MAX_EVENT_BYTES)
        throw new BlogctlError(`${url.pathname}: an event longer than ${MAX_EVENT_BYTES} bytes`);
    }
  } catch (err) {
    if (signal.aborted) return;
    if (err instanceof BlogctlError) throw err;
    throw new BlogctlError(`${url.pathname}: the stream broke off (${reason(err)})`);
  } finally {
    await res.body.cancel().catch(() => {});
  }
}

function parseBlock(block: string): StreamEvent | undefined {
  let event = 'message';
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line.startsWith(':') || line === '') continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  return data.length > 0 ? { event, data: data.join('\n') } : undefined;
}
