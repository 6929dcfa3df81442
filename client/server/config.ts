import path from 'node:path';
import { SERVICES } from '@mini-blog/common/registry';
import { baseConfigSchema, loadConfig, portWithDefault } from '@mini-blog/common/service';
import { z } from 'zod';

const configSchema = baseConfigSchema.extend({
  // Not the course client's 3000: a student's course client runs beside this one.
  ...portWithDefault(SERVICES.client.port),
  // Compiled to dist-server/, next to the app's dist/.
  STATIC_DIR: z.string().min(1).default(path.resolve(__dirname, '../dist')),
});

export type Config = z.infer<typeof configSchema>;

export function loadServerConfig(env: NodeJS.ProcessEnv = process.env): Config {
  return loadConfig(configSchema, env);
}
