import { BlockList, isIP } from 'node:net';
import type { IncomingMessage } from 'node:http';
import { z } from 'zod';
import { commaListSetting } from './comma-list';

/**
 * Who a request comes from, for the bounds kept per client (connections, live streams). Behind a
 * proxy (the launcher's gateway, ingress-nginx) every request comes from the proxy's address: the
 * client is the address the proxy adds to `X-Forwarded-For`. That header is believed only from
 * the proxies named in `TRUSTED_PROXIES`; from anyone else it is the caller's own text, and the
 * caller is its TCP peer.
 */
export class ProxyTrust {
  private readonly list = new BlockList();

  constructor(readonly entries: readonly string[] = []) {
    for (const entry of entries) {
      const [address = '', bits] = entry.split('/');
      const type = isIP(address) === 6 ? 'ipv6' : 'ipv4';
      if (bits === undefined) this.list.addAddress(address, type);
      else this.list.addSubnet(address, Number(bits), type);
    }
  }

  /** Whether connections from this address are a proxy's, carrying many clients. */
  trusts(address: string | undefined): boolean {
    if (address === undefined || this.entries.length === 0) return false;
    const plain = unmapped(address);
    return this.list.check(plain, isIP(plain) === 6 ? 'ipv6' : 'ipv4');
  }

  /**
   * The client of a request: the last address in `X-Forwarded-For` (the one the proxy added, not
   * what the client wrote before it) when the peer is a trusted proxy, else the peer.
   */
  clientOf(req: {
    readonly headers: IncomingMessage['headers'];
    readonly socket?: { readonly remoteAddress?: string };
  }): string {
    const peer = unmapped(req.socket?.remoteAddress ?? 'unknown');
    if (!this.trusts(peer)) return peer;
    const header = req.headers['x-forwarded-for'];
    const forwarded = (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',').at(-1)?.trim() ?? '';
    return isIP(unmapped(forwarded)) > 0 ? unmapped(forwarded) : peer;
  }
}

/** An IPv4 address as Node gives it on a dual-stack socket (`::ffff:127.0.0.1`), as IPv4. */
function unmapped(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

const proxyEntry = z.string().refine((entry) => {
  const [address = '', bits, ...rest] = entry.split('/');
  const version = isIP(address);
  if (version === 0 || rest.length > 0) return false;
  return bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (version === 4 ? 32 : 128));
}, 'must list IP addresses or CIDR ranges (127.0.0.1, 10.0.0.0/8), comma-separated');

/**
 * `TRUSTED_PROXIES`: the proxies in front of this process, comma-separated addresses or CIDR
 * ranges; empty (the default) for none. Their connections are exempt from the per-address bound
 * (each carries many clients), and the client address they forward is the one bounded instead.
 */
export const trustedProxiesEnv = {
  TRUSTED_PROXIES: commaListSetting('', proxyEntry),
};
