import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { waitFor } from '@mini-blog/common/testing';
import { ServiceProcess, type RestartBackoff } from '../src/supervisor';

describe('ServiceProcess', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'mini-blog-supervisor-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const quick: RestartBackoff = { baseMs: 20, maxMs: 80, resetAfterMs: 60_000 };

  /** A service that says hello and exits with `code` (or keeps running when code is null). */
  function fakeService(name: string, code: number | null, backoff = quick) {
    const script = path.join(dir, `${name}.js`);
    writeFileSync(
      script,
      `console.log(JSON.stringify({ level: 30, msg: 'hello' }));${code === null ? 'setInterval(() => {}, 1000);' : `process.exit(${code});`}`,
    );
    const lines: string[] = [];
    const service = new ServiceProcess({ name, script, env: {}, port: 1 }, (_name, line) => lines.push(line), backoff);
    return { service, lines };
  }

  it('restarts a service that crashed, with a backoff that doubles while it keeps crashing, up to its ceiling', async () => {
    const { service, lines } = fakeService('crashing', 3);

    service.start();
    await waitFor(() => service.restarts >= 4, 'four restarts');
    await service.stop();

    expect(lines[0]).toBe('INFO  hello');
    const restarts = lines.filter((line) => line.startsWith('exited'));
    expect(restarts.slice(0, 4)).toEqual([
      'exited (code 3); restart 1 in 20 ms',
      'exited (code 3); restart 2 in 40 ms',
      'exited (code 3); restart 3 in 80 ms',
      'exited (code 3); restart 4 in 80 ms',
    ]);
    expect(service.status).toMatchObject({ name: 'crashing', state: 'stopped', lastExit: 'code 3' });
  });

  it('restarts a service that exited cleanly without being asked to, as Kubernetes does', async () => {
    const { service, lines } = fakeService('clean', 0);

    service.start();
    await waitFor(() => service.restarts >= 1, 'a restart after the clean exit');
    await service.stop();

    expect(lines).toContain('exited (code 0); restart 1 in 20 ms');
  });

  it('counts a kill -9 as an exit to recover from, and says so in its status', async () => {
    const { service, lines } = fakeService('killed-by-hand', null);
    service.start();
    await waitFor(() => lines.includes('INFO  hello'), 'the start');

    process.kill(service.pid!, 'SIGKILL');
    await waitFor(() => service.restarts === 1 && service.running, 'the restart');

    expect(service.status).toMatchObject({ state: 'running', restarts: 1, lastExit: 'SIGKILL' });
    expect(lines).toContain('exited (SIGKILL); restart 1 in 20 ms');
    await service.stop();
  });

  it('is "restarting" while it waits out the backoff', async () => {
    const { service } = fakeService('waiting', 5, { baseMs: 60_000, maxMs: 60_000, resetAfterMs: 60_000 });

    service.start();
    await waitFor(() => service.status.state === 'restarting', 'the wait before the restart');

    expect(service.status).toMatchObject({ state: 'restarting', restarts: 0, lastExit: 'code 5' });
    await service.stop();
    expect(service.status.state).toBe('stopped');
  });

  it('stops a running service and does not restart it', async () => {
    const { service, lines } = fakeService('stopped', null);
    service.start();
    await waitFor(() => lines.includes('INFO  hello'), 'the start');

    await service.stop('SIGKILL');

    expect(service.running).toBe(false);
    expect(service.status).toMatchObject({ state: 'stopped', restarts: 0, lastExit: null });
    expect(lines.some((line) => line.startsWith('exited'))).toBe(false);
  });

  it('restarts on request without counting it, with a new process', async () => {
    const { service, lines } = fakeService('asked', null);
    service.start();
    await waitFor(() => lines.includes('INFO  hello'), 'the start');
    const first = service.pid;

    await service.restart();
    await waitFor(() => lines.filter((line) => line === 'INFO  hello').length === 2, 'the second start');

    expect(service.pid).not.toBe(first);
    expect(service.status).toMatchObject({ state: 'running', restarts: 0 });
    await service.stop();
  });

  it('lets a process exit for good once told to keep it stopped (Ctrl-C reaches the services too)', async () => {
    const { service, lines } = fakeService('interrupted', null);
    service.start();
    await waitFor(() => lines.includes('INFO  hello'), 'the start');

    service.keepStopped();
    process.kill(service.pid!, 'SIGTERM');
    await waitFor(() => !service.running, 'the exit');

    expect(service.status.state).toBe('stopped');
    expect(lines.some((line) => line.startsWith('exited'))).toBe(false);
  });
});
