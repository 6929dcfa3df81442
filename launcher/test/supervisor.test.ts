import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createServer, type Server } from 'node:http';
import { freePort } from '@mini-blog/common/service';
import { waitFor } from '@mini-blog/common/testing';
import { ServiceProcess, waitForReady, type RestartBackoff } from '../src/supervisor';

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

  describe('waitForReady', () => {
    /** A service as run-service.ts starts one: it listens on PORT, logs `listening` with the port once bound, answers /readyz. */
    function listeningService(name: string, port: number) {
      const script = path.join(dir, `${name}.js`);
      writeFileSync(
        script,
        `const server = require('node:http').createServer((req, res) => res.end('{"status":"ready"}'));
         server.on('error', (err) => { console.log(JSON.stringify({ level: 50, msg: err.code })); process.exit(1); });
         server.listen(Number(process.env.PORT), '127.0.0.1', () =>
           console.log(JSON.stringify({ level: 30, host: '127.0.0.1', port: server.address().port, msg: 'listening' })));`,
      );
      const lines: string[] = [];
      const service = new ServiceProcess({ name, script, env: {}, port }, (_name, line) => lines.push(line), quick);
      return { service, lines };
    }

    let impostor: Server | undefined;
    afterEach(async () => {
      await new Promise((resolve) => (impostor ? impostor.close(resolve) : resolve(undefined)));
      impostor = undefined;
    });

    it('takes a service as ready once it answers on its port and has said that it listens there', async () => {
      const { service } = listeningService('own-port', await freePort());
      service.start();

      await waitForReady(service, 10_000);

      expect(service.listening).toBe(true);
      await service.stop();
    });

    it('does not take the answers of another process that holds the port (another system started at the same time) for the service', async () => {
      const port = await freePort();
      // Another system's service, ready on the port this one was given: it took the port first.
      impostor = createServer((_req, res) => res.end('{"status":"ready"}'));
      await new Promise<void>((resolve) => impostor!.listen(port, '127.0.0.1', resolve));
      const { service, lines } = listeningService('port-taken', port);
      service.start();
      await waitFor(() => lines.some((line) => line.includes('EADDRINUSE')), 'the service failing to listen');

      await expect(waitForReady(service, 500)).rejects.toThrow(
        `port-taken was not ready within 500 ms (another process answers on its port ${port})`,
      );
      expect(service.listening).toBe(false);
      await service.stop();
    });
  });
});
