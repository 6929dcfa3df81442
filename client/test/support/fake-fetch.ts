export interface FakeAnswer {
  readonly status: number;
  readonly body?: unknown;
}

export type FakeRoute = (url: string, init: RequestInit) => FakeAnswer | Promise<FakeAnswer>;

/** The network refused the connection, as fetch reports it. */
export const networkDown = (): never => {
  throw new TypeError('Failed to fetch');
};

/**
 * Replaces fetch (which jsdom lacks) with a function that answers like the services: JSON bodies,
 * `{ message, fields }` on errors.
 */
export function installFetch(route: FakeRoute): jest.Mock {
  const fake = jest.fn(async (url: string, init: RequestInit = {}) => {
    const { status, body } = await route(url, init);
    return {
      ok: status >= 200 && status < 300,
      status,
      statusText: String(status),
      headers: {
        get: (name: string) =>
          name.toLowerCase() === 'content-type' && body !== undefined ? 'application/json' : null,
      },
      json: async () => body,
    };
  });
  Object.defineProperty(globalThis, 'fetch', { value: fake, configurable: true, writable: true });
  return fake;
}

/** A promise whose settling the test controls, to look at the UI while a request is out. */
export function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((settle) => {
    resolve = settle;
  });
  return { promise, resolve };
}
