import path from 'node:path';
import { baseConfigSchema, loadConfig, portWithDefault } from '@mini-blog/common';
import { z } from 'zod';

const configSchema = baseConfigSchema.extend({
  ...portWithDefault(3000),
  // Compiled to dist-server/, next to the app's dist/.
  STATIC_DIR: z.string().min(1).default(path.resolve(__dirname, '../dist')),
});

export type Config = z.infer<typeof configSchema>;

export function loadServerConfig(env: NodeJS.ProcessEnv = process.env): Config {
  return loadConfig(configSchema, env);
}
