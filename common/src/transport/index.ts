import type { Logger } from 'pino';
import { bearerToken, readCredential } from '../auth/credentials';
import type { BusConfig } from '../service/config';
import { ConfigError } from '../service/config-error';
import type { EventTransport } from './transport';

export * from './backoff';
export * from './errors';
export * from './transport';
export * from './types';

export interface TransportContext {
  /** The service, and the principal whose credential it reads. */
  readonly name: string;
  readonly config: BusConfig;
  /** The service's secrets from `CREDENTIALS_DIR/<name>`, current first. */
  readonly credentials: readonly [string, ...string[]];
  /** For a transport's own settings (`NATS_URL`, ...), which it checks itself and reports as ConfigError. */
  readonly env: NodeJS.ProcessEnv;
  readonly logger: Logger;
}

export type TransportFactory = (context: TransportContext) => Promise<EventTransport>;

/**
 * The transports `BUS_TRANSPORT` chooses from. Each is imported only when chosen (its modules are
 * under `@mini-blog/common/transport/<name>`, not in this entry), so that a process on the HTTP bus
 * never loads the NATS client.
 */
export const TRANSPORTS: Record<BusConfig['BUS_TRANSPORT'], TransportFactory> = {
  http: async ({ config, credentials }) =>
    (await import('./http/index.js')).createHttpTransport({
      url: config.BUS_URL,
      token: bearerToken(credentials[0]),
      secrets: credentials,
    }),
  jetstream: async (context) =>
    (await import('./jetstream/index.js')).jetstreamTransportFor({
      ...context,
      faultSwitches: context.config.FAULT_SWITCHES,
    }),
};

/**
 * Reads the service's credential and creates the configured transport. Every transport needs it
 * (the HTTP bus's bearer token and delivery signatures, JetStream's password), so a service without
 * one does not start.
 */
export async function createTransport({
  name,
  config,
  env = process.env,
  logger,
}: Omit<TransportContext, 'credentials' | 'env'> & { env?: NodeJS.ProcessEnv }): Promise<EventTransport> {
  if (config.CREDENTIALS_DIR === undefined) {
    throw new ConfigError(
      `CREDENTIALS_DIR: is required: the folder that holds ${name}'s credential file (\`npm start\` makes it under the data folder; on Kubernetes it is /etc/mini-blog/credentials)`,
    );
  }
  const credentials = readCredential(config.CREDENTIALS_DIR, name) as [string, ...string[]];
  return TRANSPORTS[config.BUS_TRANSPORT]({ name, config, credentials, env, logger });
}
