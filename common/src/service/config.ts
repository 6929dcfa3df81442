import { z } from 'zod';
import { SERVICES } from '../registry';
import { trustedProxiesEnv } from './client-address';
import { commaListSetting } from './comma-list';
import { ConfigError } from './config-error';
import { describeIssues } from './validation';

/**
 * A port from the env, digits only: `z.coerce.number()` would read an empty `PORT=` as 0 (a random
 * port, silently) and take `1e3` or `0x50` for numbers.
 */
const portSchema = () =>
  z.string().trim().regex(/^\d+$/, 'must be a whole number').transform(Number).pipe(z.number().max(65535));

/** The address to listen on: an IP address (`127.0.0.1`, `0.0.0.0`, `::`) or a host name. */
const hostSchema = () =>
  z
    .string()
    .trim()
    .refine(
      (value) =>
        z.ipv4().safeParse(value).success || z.ipv6().safeParse(value).success || z.hostname().safeParse(value).success,
      'must be an IP address or a host name',
    );

/** Env settings every service has. */
export const baseConfigSchema = z.object({
  PORT: portSchema(),
  /**
   * Every interface by default, as a container needs (its port is reached through the pod's IP);
   * the launcher passes 127.0.0.1, so that on a laptop nothing is open to the network.
   */
  HOST: hostSchema().default('0.0.0.0'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  ...trustedProxiesEnv,
});

/**
 * The local dev origins: the course's React client (its dev server on 3000, which calls the services
 * directly), our client's own server, and Vite's dev server.
 */
export const DEFAULT_CORS_ORIGINS: readonly string[] = [
  'http://localhost:3000',
  `http://localhost:${SERVICES.client.port}`,
  'http://localhost:5173',
];

/**
 * `CORS_ORIGINS`: the browser origins allowed to call a service's public routes, comma-separated
 * (empty: none). Exact origins only: `*` would let any site's pages call them.
 */
export const corsOriginsSchema = commaListSetting(
  DEFAULT_CORS_ORIGINS.join(','),
  z
    .string()
    .refine(
      (origin) =>
        URL.canParse(origin) && new URL(origin).origin === origin && /^https?:$/.test(new URL(origin).protocol),
      {
        error: (issue) =>
          `must list origins such as http://localhost:3000 (scheme, host and port only), not ${JSON.stringify(issue.input)}`,
      },
    ),
);

/**
 * `FAULT_SWITCHES=on`: the operator's fault switches exist (the bus's `/admin/faults`, a JetStream
 * service's fault subject). Off unless the operator turns them on (`npm start -- --faults`); off,
 * nothing of them is served or listened to.
 */
export const faultSwitchesEnv = {
  FAULT_SWITCHES: z
    .enum(['on', 'off'], { error: () => 'must be on or off' })
    .default('off')
    .transform((value) => value === 'on'),
};

/** The transports of the event log a service can use (see `transport/index.ts`). */
export const BUS_TRANSPORTS = ['http', 'jetstream'] as const;

/** Env settings of a service that publishes or consumes events. */
export const busConfigSchema = baseConfigSchema.extend({
  BUS_TRANSPORT: z.enum(BUS_TRANSPORTS, { error: () => `must be one of ${BUS_TRANSPORTS.join(', ')}` }).default('http'),
  /** The HTTP event bus (BUS_TRANSPORT=http). */
  BUS_URL: z.url().default(`http://localhost:${SERVICES['event-bus'].port}`),
  /**
   * The folder of the credentials, one file per principal; the service reads the one with its name.
   * Required when the service starts (`createTransport`), so that a config can be read without it.
   */
  CREDENTIALS_DIR: z.string().trim().min(1).optional(),
  CORS_ORIGINS: corsOriginsSchema,
  ...faultSwitchesEnv,
  /**
   * The folder of the service's projection (its SQLite file): the launcher gives each service
   * `data/<service>/`. Left out, the projection is an in-memory database built from the start of the
   * log at every start.
   */
  DATA_DIR: z.string().trim().min(1).optional(),
  /**
   * The admin's token for this service, as hex SHA-256 digests (comma-separated, current first):
   * who may call its admin routes (`auth/service-admin.ts`). The launcher sets it from the admin's
   * credential; left out or empty, nobody may.
   */
  ADMIN_TOKEN_SHA256: z
    .string()
    .trim()
    .regex(/^([0-9a-f]{64}(,[0-9a-f]{64})*)?$/, 'must be SHA-256 digests in hex, comma-separated (empty: none)')
    .optional(),
  /** Names this replica's projection file (and, on JetStream, its durable consumer) when replicas share a folder. */
  REPLICA_ID: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1 to 64 letters, digits, _ or -')
    .optional(),
});

export type BusConfig = z.infer<typeof busConfigSchema>;

export { ConfigError } from './config-error';

/**
 * Reads and checks the env once, at startup: a wrong setting stops the service at once with a
 * message that names the variable, instead of failing later on the first request that uses it.
 */
export function loadConfig<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const { message } = describeIssues(result.error.issues, 'env');
  throw new ConfigError(`invalid configuration: ${message}`);
}

/** A port setting with the service's own default. */
export const portWithDefault = (port: number) => ({ PORT: portSchema().default(port) });

/** A listening address with a default of its own (the launcher's gateway: loopback unless told). */
export const hostWithDefault = (host: string) => ({ HOST: hostSchema().default(host) });
