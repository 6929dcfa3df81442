/**
 * jsdom has no EventSource. This stand-in records every instance so a test can play the server:
 * open the connection, send named events, drop it.
 */
export class FakeEventSource {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSED = 2;
  static instances: FakeEventSource[] = [];

  readyState = FakeEventSource.CONNECTING;
  onopen: (() => void) | null = null;
  onerror: (() => void) | null = null;
  private readonly listeners = new Map<string, ((message: MessageEvent<string>) => void)[]>();

  constructor(readonly url: string) {
    FakeEventSource.instances.push(this);
  }

  static latest(url: string): FakeEventSource {
    const found = FakeEventSource.instances.filter((source) => source.url === url).at(-1);
    if (!found) throw new Error(`no EventSource was opened on ${url}`);
    return found;
  }

  static install(): void {
    FakeEventSource.instances = [];
    Object.defineProperty(window, 'EventSource', { value: FakeEventSource, configurable: true, writable: true });
  }

  addEventListener(name: string, listener: (message: MessageEvent<string>) => void): void {
    this.listeners.set(name, [...(this.listeners.get(name) ?? []), listener]);
  }

  close(): void {
    this.readyState = FakeEventSource.CLOSED;
  }

  open(): void {
    this.readyState = FakeEventSource.OPEN;
    this.onopen?.();
  }

  emit(name: string, data: unknown): void {
    const message = new MessageEvent<string>(name, { data: JSON.stringify(data) });
    for (const listener of this.listeners.get(name) ?? []) listener(message);
  }

  /** An HTTP error answer (a gateway's 502): the browser gives this EventSource up for good. */
  fail(): void {
    this.readyState = FakeEventSource.CLOSED;
    this.onerror?.();
  }

  /** A network drop: the browser keeps the EventSource and retries by itself. */
  drop(): void {
    this.readyState = FakeEventSource.CONNECTING;
    this.onerror?.();
  }
}
