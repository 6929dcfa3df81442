import path from 'node:path';
import { SERVICES } from '@mini-blog/common/registry';
import {
  baseConfigSchema,
  DEFAULT_SPAN_EXPORTS_PER_MINUTE,
  loadConfig,
  portWithDefault,
} from '@mini-blog/common/service';
import { z } from 'zod';

const configSchema = baseConfigSchema.extend({
  // Not the course client's 3000: a student's course client runs beside this one.
  ...portWithDefault(SERVICES.client.port),
  // Compiled to dist-server/, next to the app's dist/.
  STATIC_DIR: z.string().min(1).default(path.resolve(__dirname, '../dist')),
  /** The browser's span exports (`POST /v1/traces`) one client address may send a minute; beyond it, 429. */
  SPAN_EXPORTS_PER_MINUTE: z
    .string()
    .trim()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().min(1).max(100_000))
    .default(DEFAULT_SPAN_EXPORTS_PER_MINUTE),
});

export type Config = z.infer<typeof configSchema>;

export function loadServerConfig(env: NodeJS.ProcessEnv = process.env): Config {
  return loadConfig(configSchema, env);
}
