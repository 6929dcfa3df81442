/**
 * The app's way to the browser's tracing (`./tracing-sdk`, OpenTelemetry's web SDK), which is not
 * part of the first page's script: `startBrowserTracing` loads it beside the first render, and
 * nothing here waits for it but a person's action, for a while.
 *
 * An action before the SDK has loaded (a click in the first moments) waits for it, so it is traced
 * like any other: its root span, and the fetch instrumentation's `traceparent` on its request, need
 * the SDK in place before the request starts. It waits at most `SDK_WAIT_MS`: past that (a slow
 * network) the action runs untraced. If the SDK cannot load (a network error), actions run untraced
 * and a live change makes no span; the app works as with tracing off.
 */

import type * as TracingSdkModule from './tracing-sdk';

type TracingSdk = typeof TracingSdkModule;

/** How long a person's action waits for the SDK that is still loading before it runs untraced. */
export const SDK_WAIT_MS = 3000;

/** The SDK as it loads, then as it loaded; null if it could not load; undefined until started. */
let sdk: Promise<TracingSdk | null> | undefined;

/** Starts loading and starting the browser's tracing; once, before the app renders. Resolves when it runs. */
export function startBrowserTracing(): Promise<TracingSdk | null> {
  sdk ??= import('./tracing-sdk').then(
    (loaded) => {
      loaded.startSdk();
      return loaded;
    },
    // The browser's console already shows the failed request of the module; the app goes on untraced.
    () => null,
  );
  return sdk;
}

/**
 * Runs a person's action as the root span of a trace: the request `action` starts (synchronously,
 * before its first await) is its child. Resolves or rejects as `action` does. Waits for the SDK
 * if it is still loading (at most `SDK_WAIT_MS`); without tracing started, runs `action` at once.
 */
export async function tracedAction<T>(name: string, action: () => Promise<T>): Promise<T> {
  const loaded = sdk && (await loadedWithin(sdk, SDK_WAIT_MS));
  return loaded ? loaded.tracedAction(name, action) : action();
}

/** The SDK if it has loaded within `ms`, else null. */
async function loadedWithin(loading: Promise<TracingSdk | null>, ms: number): Promise<TracingSdk | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), ms);
  });
  try {
    return await Promise.race([loading, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A change that came on the live stream, as the last hop of the trace of the push that sent it: a
 * span at the time it came, made when the SDK has loaded.
 */
export function changeReceived(traceparent: string | undefined, postId: string): void {
  if (traceparent === undefined || sdk === undefined) return;
  const receivedAt = Date.now();
  void sdk.then((loaded) => loaded?.changeReceived(traceparent, postId, receivedAt));
}
