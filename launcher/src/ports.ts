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

/** A free port held open until `release`: nothing else on the machine is given it meanwhile. */
export interface PortReservation {
  readonly port: number;
  /** Closes the holding socket; resolves once the port can be bound (by the service it was for). */
  release(): Promise<void>;
}

/**
 * A port the OS says is free, kept bound by this process until the service it is for starts. A
 * port picked with `freePort` is free only at that moment: another process (another system started
 * at the same time) may be given it before the service binds it, seconds later when NATS and the
 * bus start first. Held, it cannot be.
 */
export async function reservePort(host = '127.0.0.1'): Promise<PortReservation> {
  const server = net.createServer();
  server.unref();
  server.listen(0, host);
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  let released: Promise<void> | undefined;
  return {
    port,
    release: () => {
      released ??= new Promise<void>((resolve) => server.close(() => resolve()));
      return released;
    },
  };
}
