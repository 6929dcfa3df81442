import { once } from 'node:events';
import net from 'node:net';
import { freePort } from '@mini-blog/common/service';
import { assertPortsFree, reservePort } from '../src/ports';

describe('assertPortsFree', () => {
  it('passes when nothing listens on the ports', async () => {
    await expect(
      assertPortsFree({ posts: await freePort(), query: await freePort() }, '127.0.0.1'),
    ).resolves.toBeUndefined();
  });

  it('names each port that another process holds, and what it was for', async () => {
    const holder = net.createServer().listen(0, '127.0.0.1');
    await once(holder, 'listening');
    const taken = (holder.address() as net.AddressInfo).port;
    try {
      await expect(assertPortsFree({ posts: await freePort(), query: taken }, '127.0.0.1')).rejects.toThrow(
        `in use on 127.0.0.1: ${taken} (query). Is another mini-blog running?`,
      );
    } finally {
      holder.close();
    }
  });
});

describe('reservePort', () => {
  /** Listens on `port` and closes again; resolves with the error code when it cannot. */
  async function tryListen(port: number): Promise<string | undefined> {
    const server = net.createServer().listen(port, '127.0.0.1');
    try {
      await once(server, 'listening');
    } catch (err) {
      return (err as NodeJS.ErrnoException).code;
    }
    server.close();
    await once(server, 'close');
    return undefined;
  }

  it('holds a free port, so that no other process can take it, until the service it is for starts', async () => {
    const reservation = await reservePort();

    expect(await tryListen(reservation.port)).toBe('EADDRINUSE');
    await reservation.release();
    expect(await tryListen(reservation.port)).toBeUndefined();
    // Released twice (a start that failed lets go of every port it still holds): no error.
    await expect(reservation.release()).resolves.toBeUndefined();
  });
});
