/**
 * Polls a condition until it holds, failing after `timeoutMs`: a test waits for what it expects,
 * never for a fixed time.
 */
export async function waitFor(condition: () => boolean, { timeoutMs = 2000, intervalMs = 5, what = 'the condition' } = {}): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
