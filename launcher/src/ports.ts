import { once } from 'node:events';
import net from 'node:net';

/** Kept here for the launcher's users (the benchmarks, the tests); it lives in common. */
export { freePort } from '@mini-blog/common/service';

/** Whether nothing listens on `port` at `host`: a listen that succeeds and is closed at once. */
async function isFree(port: number, host: string): Promise<boolean> {
  const server = net.createServer();
  server.listen(port, host);
  try {
    await once(server, 'listening');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') return false;
    throw err;
  }
  server.close();
  await once(server, 'close');
  return true;
}

/**
 * Fails, naming each port that is taken, before anything starts: a service that cannot listen
 * would be restarted again and again, while whatever holds its port (another mini-blog) answered
 * the readiness checks in its place.
 */
export async function assertPortsFree(ports: Readonly<Record<string, number>>, host: string): Promise<void> {
  const taken: string[] = [];
  for (const [name, port] of Object.entries(ports)) {
    if (!(await isFree(port, host))) taken.push(`${port} (${name})`);
  }
  if (taken.length > 0) {
    throw new Error(
      `in use on ${host}: ${taken.join(', ')}. Is another mini-blog running? Stop it, or start this one with PORT=0 to run every process on free ports.`,
    );
  }
}
