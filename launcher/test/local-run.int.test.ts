import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { SupervisorView } from '@mini-blog/common/events';
import { localRunFile, readLocalRun } from '@mini-blog/common/local-run';
import { SERVICE_NAMES } from '@mini-blog/common/registry';
import { startSystem } from '../src';

jest.setTimeout(60_000);

describe("the launcher's file in the data folder", () => {
  it('says where the gateway, the bus, its views and each service answer once the system is up, and goes on a clean stop', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'launcher-local-run-'));
    const system = await startSystem({ port: 0, dataDir, log: () => {} });
    let stopped = false;
    try {
      const file = localRunFile(dataDir);
      const run = readLocalRun(dataDir);

      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(run).toEqual({
        gateway: `http://127.0.0.1:${new URL(system.url).port}`,
        bus: system.services['event-bus'].url,
        views: system.viewsUrl,
        services: Object.fromEntries(SERVICE_NAMES.map((name) => [name, system.services[name].url])),
        pid: process.pid,
      });
      const view = (await (await fetch(`${run!.gateway}/launcher/services`)).json()) as SupervisorView;
      expect(view.services.map((service) => service.name)).toEqual(SERVICE_NAMES);
      expect((await fetch(`${run!.views}/subscriptions`)).status).toBe(200);

      await system.stop();
      stopped = true;

      expect(existsSync(file)).toBe(false);
    } finally {
      if (!stopped) await system.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
