import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { waitFor } from '@mini-blog/common/testing';
import { ServiceProcess } from '../src/supervisor';

describe('ServiceProcess', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'mini-blog-supervisor-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** A service that says hello and exits with `code` (or keeps running when code is null). */
  function fakeService(name: string, code: number | null) {
    const script = path.join(dir, `${name}.js`);
    writeFileSync(
      script,
      `console.log(JSON.stringify({ level: 30, msg: 'hello' }));${code === null ? 'setInterval(() => {}, 1000);' : `process.exit(${code});`}`,
    );
    const lines: string[] = [];
    const service = new ServiceProcess({ name, script, env: {}, port: 1 }, (_name, line) => lines.push(line), 50);
    return { service, lines };
  }

  it('restarts a service that crashed', async () => {
    const { service, lines } = fakeService('crashing', 3);

    service.start();
    await waitFor(() => lines.filter((line) => line.includes('hello')).length >= 2, 'a second start after the crash');
    await service.stop();

    expect(lines).toContain('exited (code 3); restarting in 50 ms');
    expect(lines[0]).toBe('INFO  hello');
  });

  it('leaves stopped a service that exited cleanly', async () => {
    const { service, lines } = fakeService('clean', 0);

    service.start();
    await waitFor(() => lines.includes('exited (code 0); stays stopped'), 'the clean exit');

    expect(service.running).toBe(false);
    expect(lines.some((line) => line.startsWith('exited (code 0); restarting'))).toBe(false);
  });

  it('stops a running service and does not restart it', async () => {
    const { service, lines } = fakeService('killed', null);
    service.start();
    await waitFor(() => lines.includes('INFO  hello'), 'the start');

    await service.stop('SIGKILL');

    expect(service.running).toBe(false);
    expect(lines.some((line) => line.startsWith('exited'))).toBe(false);
  });
});
