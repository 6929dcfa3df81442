import { hostWithDefault, loadConfig, portWithDefault } from '@mini-blog/common';
import { z } from 'zod';

/**
 * The launcher's settings: the gateway's port and address, and the data folder (the bus's log and
 * the credentials). The gateway listens on 127.0.0.1 unless HOST says otherwise (`HOST=0.0.0.0`
 * shares it with the network); the services always listen on 127.0.0.1.
 */
const configSchema = z.object({
  ...portWithDefault(8080),
  ...hostWithDefault('127.0.0.1'),
  DATA_DIR: z.string().trim().min(1).default('data'),
});

export type LauncherConfig = z.infer<typeof configSchema>;

export function loadLauncherConfig(env: NodeJS.ProcessEnv = process.env): LauncherConfig {
  return loadConfig(configSchema, env);
}
