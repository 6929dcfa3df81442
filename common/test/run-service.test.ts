import request from 'supertest';
import { createHttpApp } from '../src/service/http-app';
import { silentLogger } from '../src/service/logger';
import { runService, type RunningService } from '../src/service/run-service';
import { waitFor } from '../src/testing';

const signals = ['SIGTERM', 'SIGINT'] as const;
let listenersBefore: Map<NodeJS.Signals, NodeJS.SignalsListener[]>;
let running: RunningService | undefined;

beforeEach(() => {
  listenersBefore = new Map(signals.map((signal) => [signal, process.listeners(signal)]));
});

afterEach(async () => {
  await running?.stop();
  running = undefined;
  // runService installs its signal handlers for the life of a process; a test process outlives it.
  for (const signal of signals) {
    for (const listener of process.listeners(signal)) {
      if (!listenersBefore.get(signal)?.includes(listener)) process.removeListener(signal, listener);
    }
  }
});

describe('runService', () => {
  it('listens on a free port when asked for port 0, and serves the app', async () => {
    const app = createHttpApp({ logger: silentLogger(), routes: () => undefined });

    running = await runService({ app, port: 0, logger: silentLogger() });
    const res = await request(`http://127.0.0.1:${running.port}`).get('/healthz');

    expect(running.port).toBeGreaterThan(0);
    expect(res.status).toBe(200);
  });

  it('runs onListening once the port is open', async () => {
    const app = createHttpApp({ logger: silentLogger(), routes: () => undefined });
    let answeredDuringStartup: number | undefined;

    running = await runService({
      app,
      port: 0,
      logger: silentLogger(),
      onListening: async () => {
        // runService calls this before it returns the port to the test: let it return first.
        await new Promise(setImmediate);
        answeredDuringStartup = (await request(`http://127.0.0.1:${running!.port}`).get('/healthz')).status;
      },
    });
    await waitFor(() => answeredDuringStartup !== undefined, 'onListening');

    expect(answeredDuringStartup).toBe(200);
  });

  it('lets an in-flight request finish, then runs onShutdown', async () => {
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    let started = false;
    const order: string[] = [];
    const app = createHttpApp({
      logger: silentLogger(),
      routes: (a) =>
        a.get('/slow', async (_req, res) => {
          started = true;
          await released;
          order.push('answered');
          res.json({ done: true });
        }),
    });
    running = await runService({ app, port: 0, logger: silentLogger(), onShutdown: () => void order.push('shutdown') });
    const inFlight = request(`http://127.0.0.1:${running.port}`).get('/slow').then((res) => res);
    await waitFor(() => started, 'the request to start');

    const stopping = running.stop();
    release();
    const [res] = await Promise.all([inFlight, stopping]);

    expect(res.status).toBe(200);
    expect(order).toEqual(['answered', 'shutdown']);
    expect(running.server.listening).toBe(false);
  });

  it('stops once however often stop is called', async () => {
    const app = createHttpApp({ logger: silentLogger(), routes: () => undefined });
    let shutdowns = 0;
    running = await runService({ app, port: 0, logger: silentLogger(), onShutdown: () => void (shutdowns += 1) });

    await Promise.all([running.stop(), running.stop()]);
    await running.stop();

    expect(shutdowns).toBe(1);
  });
});
