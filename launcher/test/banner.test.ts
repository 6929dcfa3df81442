import type { NetworkInterfaceInfo } from 'node:os';
import { parseSubscribers } from '@mini-blog/common/transport/http';
import { reachableUrls, startupBanner } from '../src/banner';

/** A machine with loopback, one Wi-Fi address (documentation ranges) and a link-local IPv6 one. */
const address = (address: string, family: 'IPv4' | 'IPv6', internal = false) =>
  ({ address, family, internal, netmask: '', mac: '', cidr: null }) as NetworkInterfaceInfo;
const INTERFACES = {
  lo: [address('127.0.0.1', 'IPv4', true), address('::1', 'IPv6', true)],
  wlan0: [address('192.0.2.23', 'IPv4'), address('fe80::1', 'IPv6'), address('2001:db8::23', 'IPv6')],
};

const facts = {
  url: 'http://localhost:8080',
  port: 8080,
  dataDir: '/home/me/mini-blog/data',
  credentialsDir: '/home/me/mini-blog/data/credentials',
  created: [],
  extraSubscribers: [],
  interfaces: INTERFACES,
};

describe('reachableUrls', () => {
  it("gives this machine's network addresses for 0.0.0.0, never loopback", () => {
    expect(reachableUrls('0.0.0.0', 8080, INTERFACES)).toEqual(['http://192.0.2.23:8080']);
  });

  it('adds global IPv6 addresses for ::, not link-local ones', () => {
    expect(reachableUrls('::', 8080, INTERFACES)).toEqual(['http://192.0.2.23:8080', 'http://[2001:db8::23]:8080']);
  });

  it('gives a named address as it is, and nothing for loopback', () => {
    expect(reachableUrls('192.0.2.23', 3080, INTERFACES)).toEqual(['http://192.0.2.23:3080']);
    expect(reachableUrls('127.0.0.1', 8080, INTERFACES)).toEqual([]);
  });
});

describe('startupBanner', () => {
  it('with HOST=0.0.0.0 prints a URL that another machine can open', () => {
    const banner = startupBanner({ ...facts, host: '0.0.0.0' });

    expect(banner).toContain('open http://localhost:8080\n');
    expect(banner).toContain('from other machines on your network: http://192.0.2.23:8080\n');
    expect(banner).not.toMatch(/other machines.*(localhost|127\.0\.0\.1|0\.0\.0\.0)/);
  });

  it('says so when the machine has no network address to share', () => {
    expect(startupBanner({ ...facts, host: '0.0.0.0', interfaces: { lo: INTERFACES.lo } })).toContain(
      'the gateway listens on 0.0.0.0, but this machine has no network address yet',
    );
  });

  it('mentions no other machine when only this one can reach it', () => {
    expect(startupBanner({ ...facts, host: '127.0.0.1' })).not.toContain('other machines');
  });

  it("names each extra subscriber's delivery and its credential file", () => {
    const banner = startupBanner({
      ...facts,
      host: '127.0.0.1',
      created: ['course-query'],
      extraSubscribers: parseSubscribers('course-query=http://localhost:4102/events|types=PostCreated'),
    });

    expect(banner).toContain('(new: course-query)');
    expect(banner).toContain(
      'course-query (EXTRA_SUBSCRIBERS) is delivered at http://localhost:4102/events: one event per POST; PostCreated; an event it rejects is parked',
    );
    expect(banner).toContain(
      'its credential (a Bearer token for GET /events, the key of x-bus-signature): /home/me/mini-blog/data/credentials/course-query',
    );
  });
});
