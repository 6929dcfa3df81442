import { natsPermissions, natsPrincipals, ROUTE_USER } from './subjects';

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
  /** What the nodes' routes authenticate with (the credential `nats-route`); needed by a cluster. */
  readonly routePassword?: string;
}

/** How long a route has to present its credential before the node closes it. */
const ROUTE_AUTH_TIMEOUT_S = 2;

/**
 * A route's URL with the cluster's credential in it: a node presents it to every node it routes to,
 * and accepts a route only from a node that presents it (a rogue server is refused, and the node
 * logs `authentication error`). Base64url secrets need no escaping in a URL.
 */
export function routeUrl(host: string, port: number, password: string): string {
  return `nats-route://${ROUTE_USER}:${password}@${host}:${port}`;
}

export function natsNodeName(index: number): string {
  return `nats-${index}`;
}

/**
 * One node's configuration, as JSON (which nats-server reads as its own format). Every node of a
 * cluster lists the routes of all the others, each with the route credential, and accepts only
 * routes that present it; every principal is a user of one account with the permissions of
 * `natsPermissions`.
 */
export function natsNodeConfig({ index, ports, storeDir, passwords, routePassword }: NatsNodeConfig): string {
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
    if (!routePassword) throw new Error('nats: a cluster needs the route credential');
    config.cluster = {
      name: NATS_CLUSTER,
      listen: `127.0.0.1:${own.cluster}`,
      authorization: { user: ROUTE_USER, password: routePassword, timeout: ROUTE_AUTH_TIMEOUT_S },
      routes: ports
        .filter((_, other) => other !== index)
        .map((node) => routeUrl('127.0.0.1', node.cluster, routePassword)),
    };
  }
  return `${JSON.stringify(config, null, 2)}\n`;
}
