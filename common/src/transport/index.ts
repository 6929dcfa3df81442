import type { Logger } from 'pino';
import { readCredential } from '../auth/credentials';
import type { BusConfig } from '../service/config';
import { createHttpTransport } from './http';
import { jetstreamTransportFor } from './jetstream';
import type { EventTransport } from './transport';

export * from './backoff';
export * from './errors';
export * from './http';
export * from './transport';
export * from './types';

export interface TransportContext {
  /** The service, and the principal whose credential it reads. */
  readonly name: string;
  readonly config: BusConfig;
  /** The service's secrets from `CREDENTIALS_DIR/<name>`, current first; undefined without CREDENTIALS_DIR. */
  readonly credentials: readonly [string, ...string[]] | undefined;
  /** For a transport's own settings (`NATS_URL`, ...), which it checks itself and reports as ConfigError. */
  readonly env: NodeJS.ProcessEnv;
  readonly logger: Logger;
}

export type TransportFactory = (context: TransportContext) => Promise<EventTransport>;

/** The transports `BUS_TRANSPORT` chooses from. */
export const TRANSPORTS: Record<BusConfig['BUS_TRANSPORT'], TransportFactory> = {
  http: async ({ config, credentials }) =>
    createHttpTransport({ url: config.BUS_URL, token: credentials?.[0], secrets: credentials ?? 'unsigned' }),
  jetstream: async (context) => jetstreamTransportFor(context),
};

/** Reads the service's credential (when CREDENTIALS_DIR is set) and creates the configured transport. */
export async function createTransport({ name, config, env = process.env, logger }: Omit<TransportContext, 'credentials' | 'env'> & { env?: NodeJS.ProcessEnv }): Promise<EventTransport> {
  const credentials = config.CREDENTIALS_DIR === undefined ? undefined : (readCredential(config.CREDENTIALS_DIR, name) as [string, ...string[]]);
  return TRANSPORTS[config.BUS_TRANSPORT]({ name, config, credentials, env, logger });
}
