import type { SupervisorView } from '@mini-blog/common/events';
import { waitFor } from '@mini-blog/common/testing';
import { startTemporarySystem, type TemporarySystem } from '../src';

jest.setTimeout(60_000);

describe('the launcher as a supervisor', () => {
  let run: TemporarySystem;
  beforeAll(async () => {
    run = await startTemporarySystem(`supervisor-${process.pid}-`);
  });
  afterAll(async () => {
    await run?.stop();
  });

  it('starts a service killed with kill -9 again, counts the restart, and the service answers again', async () => {
    const posts = run.system.services.posts;
    const killed = posts.pid!;

    process.kill(killed, 'SIGKILL');
    await waitFor(() => posts.restarts === 1 && posts.running, 'posts started again', { timeoutMs: 15_000 });
    await run.system.waitReady('posts');

    expect(posts.pid).not.toBe(killed);
    expect(posts.status).toMatchObject({ name: 'posts', state: 'running', restarts: 1, lastExit: 'SIGKILL' });
    const created = await fetch(`${run.system.url}/posts/create`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'After the restart' }),
    });
    expect(created.status).toBe(201);
    // The supervisor's public view shows it.
    const view = (await (await fetch(`${run.system.url}/launcher/services`)).json()) as SupervisorView;
    expect(view.services.find((service) => service.name === 'posts')).toMatchObject({
      state: 'running',
      ready: true,
      restarts: 1,
      lastExit: 'SIGKILL',
    });
    // The other services were left alone.
    for (const [name, service] of Object.entries(run.system.services))
      if (name !== 'posts') expect({ name, restarts: service.restarts }).toEqual({ name, restarts: 0 });
  });
});
