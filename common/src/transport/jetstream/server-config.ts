import { natsPermissions, natsPrincipals } from './subjects';

/**
 * The configuration of a nats-server node for the blog: the launcher writes it for each node of the
 * laptop's cluster, and the tests start servers with it.
 */

export interface NatsNodePorts {
  /** Clients (the services). */
  readonly client: number;
  /** The other nodes' routes; unused by a single node. */
  readonly cluster: number;
  /** HTTP monitoring: `/healthz` says when JetStream is ready. */
  readonly monitor: number;
}

/** The account every principal's user belongs to; JetStream is enabled for it. */
export const NATS_ACCOUNT = 'BLOG';
export const NATS_CLUSTER = 'mini-blog';

export interface NatsNodeConfig {
  readonly index: number;
  readonly ports: readonly NatsNodePorts[];
  readonly storeDir: string;
  /** Each principal's password: its current secret. */
  readonly passwords: Readonly<Record<string, string>>;
}

export function natsNodeName(index: number): string {
  return `nats-${index}`;
}

/**
 * One node's configuration, as JSON (which nats-server reads as its own format). Every node of a
 * cluster lists the routes of all the others; every principal is a user of one account with the
 * permissions of `natsPermissions`.
 */
export function natsNodeConfig({ index, ports, storeDir, passwords }: NatsNodeConfig): string {
  const own = ports[index];
  if (!own) throw new Error(`nats: no ports for node ${index}`);
  const users = natsPrincipals().map((principal) => {
    const password = passwords[principal];
    if (!password) throw new Error(`nats: no password for ${principal}`);
    return { user: principal, password, permissions: natsPermissions(principal) };
  });
  const config: Record<string, unknown> = {
    server_name: natsNodeName(index),
    listen: `127.0.0.1:${own.client}`,
    http: `127.0.0.1:${own.monitor}`,
    jetstream: { store_dir: storeDir },
    accounts: { [NATS_ACCOUNT]: { jetstream: 'enabled', users } },
  };
  if (ports.length > 1) {
    config.cluster = {
      name: NATS_CLUSTER,
      listen: `127.0.0.1:${own.cluster}`,
      routes: ports.filter((_, other) => other !== index).map((node) => `nats-route://127.0.0.1:${node.cluster}`),
    };
  }
  return `${JSON.stringify(config, null, 2)}\n`;
}
