import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';
import path from 'node:path';
import type { SubscriberConfig } from '@mini-blog/common/transport/http';
import { describeDelivery } from './extra-subscribers';

/** Addresses that only this machine can reach. */
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1']);
const ALL_INTERFACES = new Set(['0.0.0.0', '::']);

/**
 * The URLs at which other machines reach the gateway: for `0.0.0.0` (`::`) this machine's network
 * addresses (IPv4; with `::` also global IPv6), for a named address that address, none on loopback.
 * A link-local IPv6 address needs its interface named and is left out.
 */
export function reachableUrls(
  host: string,
  port: number,
  interfaces: NodeJS.Dict<NetworkInterfaceInfo[]> = networkInterfaces(),
): string[] {
  if (LOOPBACK_HOSTS.has(host)) return [];
  if (!ALL_INTERFACES.has(host)) return [`http://${host.includes(':') ? `[${host}]` : host}:${port}`];
  return Object.values(interfaces)
    .flatMap((addresses) => addresses ?? [])
    .filter(
      (address) =>
        !address.internal &&
        (address.family === 'IPv4' || (host === '::' && !address.address.toLowerCase().startsWith('fe80:'))),
    )
    .map((address) => `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${port}`);
}

export interface BannerFacts {
  /** The gateway's URL on this machine. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  readonly credentialsDir: string;
  readonly created: readonly string[];
  readonly extraSubscribers: readonly SubscriberConfig[];
  /** The fault switches are on (`--faults`). */
  readonly faultSwitches?: boolean;
  readonly interfaces?: NodeJS.Dict<NetworkInterfaceInfo[]>;
}

/** What `npm start` prints once everything is ready: where to open it, where its files are, who else subscribes. */
export function startupBanner(facts: BannerFacts): string {
  const { url, host, port, dataDir, credentialsDir, created, extraSubscribers } = facts;
  const lines = [`mini-blog is running: open ${url}`];
  if (!LOOPBACK_HOSTS.has(host)) {
    const others = reachableUrls(host, port, facts.interfaces);
    lines.push(
      others.length > 0
        ? `from other machines on your network: ${others.join(' or ')}`
        : `the gateway listens on ${host}, but this machine has no network address yet`,
    );
  }
  lines.push(
    `the log is in ${dataDir}; the credentials in ${credentialsDir}${created.length > 0 ? ` (new: ${created.join(', ')})` : ''}`,
  );
  if (facts.faultSwitches)
    lines.push(
      `the fault switches are ON: "Break it" at ${url}/services, or blogctl fault; both need the admin credential (${path.join(credentialsDir, 'admin')})`,
    );
  for (const subscriber of extraSubscribers) {
    lines.push(
      `${subscriber.name} (EXTRA_SUBSCRIBERS) is delivered at ${subscriber.url}: ${describeDelivery(subscriber)}`,
      `  its credential (a Bearer token for GET /events, the key of x-bus-signature): ${path.join(credentialsDir, subscriber.name)}`,
    );
  }
  lines.push('Ctrl-C stops everything');
  return `\n${lines.map((line) => `  ${line}\n`).join('')}\n`;
}
