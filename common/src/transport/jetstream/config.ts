import { hostname } from 'node:os';
import { z } from 'zod';
import { loadConfig } from '../../service/config';

/** The JetStream transport's own env settings (BUS_TRANSPORT=jetstream). */
export const jetstreamConfigSchema = z.object({
  /** One or more `nats://host:port` URLs, comma-separated: the client moves to another when one fails. */
  NATS_URL: z
    .string()
    .trim()
    .min(1)
    .transform((value) => value.split(',').map((url) => url.trim()))
    .pipe(
      z.array(z.string().regex(/^(nats|tls):\/\/[^\s,/]+$/, 'must be nats://host:port URLs, comma-separated')).max(16),
    ),
  /** Copies of the stream (1 on one node, 3 on a cluster): used when the stream is created. */
  NATS_STREAM_REPLICAS: z
    .string()
    .trim()
    .regex(/^[135]$/, 'must be 1, 3 or 5')
    .transform(Number)
    .default(1),
  /**
   * Names this process among the replicas of its service: each replica keeps its own durable
   * consumer, `<service>-<replica>`. The pod name on Kubernetes (the host name), set by the launcher.
   */
  REPLICA_ID: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1 to 64 letters, digits, _ or -')
    .optional(),
});

export type JetStreamConfig = z.infer<typeof jetstreamConfigSchema> & { readonly REPLICA_ID: string };

export function readJetStreamConfig(env: NodeJS.ProcessEnv): JetStreamConfig {
  const config = loadConfig(jetstreamConfigSchema, env);
  return { ...config, REPLICA_ID: config.REPLICA_ID ?? replicaFromHost(hostname()) };
}

/** A host name as a consumer name's part: a pod's name is already one; anything else is cleaned. */
export function replicaFromHost(host: string): string {
  return host.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 64) || 'replica';
}
