import { once } from 'node:events';
import net from 'node:net';
import { freePort } from '@mini-blog/common/service';
import { assertPortsFree } from '../src/ports';

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
