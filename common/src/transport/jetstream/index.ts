import type { Logger } from 'pino';
import { ConfigError } from '../../service/config-error';
import { readJetStreamConfig } from './config';
import { createJetStreamTransport, type JetStreamTransport } from './jetstream-transport';

export * from './config';
export * from './jetstream-transport';
export * from './link';
export * from './live-consumer';
export * from './replica-slot';
export * from './server-config';
export * from './stream';
export * from './subjects';

export interface JetStreamContext {
  readonly name: string;
  /** The service's secrets, current first: the current one is its NATS password. */
  readonly credentials: readonly string[] | undefined;
  readonly env: NodeJS.ProcessEnv;
  readonly logger: Logger;
  /** The operator's fault switches are on (`FAULT_SWITCHES=on`). */
  readonly faultSwitches?: boolean;
}

/** The transport `BUS_TRANSPORT=jetstream` chooses: NATS_URL and the rest from the env, the password from the credential. */
export function jetstreamTransportFor({
  name,
  credentials,
  env,
  logger,
  faultSwitches,
}: JetStreamContext): JetStreamTransport {
  const config = readJetStreamConfig(env);
  const password = credentials?.[0];
  if (!password)
    throw new ConfigError(
      `CREDENTIALS_DIR: is required with BUS_TRANSPORT=jetstream (the service's secret is its NATS password)`,
    );
  return createJetStreamTransport({
    name,
    replica: config.REPLICA_ID,
    servers: config.NATS_URL,
    password,
    streamReplicas: config.NATS_STREAM_REPLICAS,
    logger,
    faultSwitches,
  });
}
