import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { startTemporarySystem } from '../src';

jest.setTimeout(60_000);

const leftovers = (prefix: string) => readdirSync(tmpdir()).filter((name) => name.startsWith(prefix));

describe('startTemporarySystem', () => {
  it('starts the system on free ports in a data folder of its own, and removes the folder when stopped', async () => {
    const prefix = `temporary-system-${process.pid}-ok-`;
    const run = await startTemporarySystem(prefix);
    try {
      expect((await fetch(`${run.system.url}/posts`)).status).toBe(200);
      expect(leftovers(prefix)).toHaveLength(1);
    } finally {
      await run.stop();
    }
    expect(leftovers(prefix)).toEqual([]);
  });

  it("fails with the services' last log lines when one does not start, and leaves nothing behind", async () => {
    const prefix = `temporary-system-${process.pid}-broken-`;
    const started = startTemporarySystem(prefix, {
      env: { 'event-bus': { SUBSCRIBERS: 'not a subscriber list' } },
      // Long enough for the bus to start and print why it stops on a busy machine; it never gets ready.
      readyTimeoutMs: 15_000,
    });

    await expect(started).rejects.toThrow(/--- service logs ---\n[\s\S]*event-bus \| .*SUBSCRIBERS/);
    expect(leftovers(prefix)).toEqual([]);
  });
});
