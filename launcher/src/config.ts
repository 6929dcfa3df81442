import { hostWithDefault, loadConfig, portWithDefault } from '@mini-blog/common/service';
import { z } from 'zod';
import { parseExtraSubscribers } from './extra-subscribers';

/**
 * The launcher's settings: the gateway's port and address, and the data folder (the bus's log and
 * the credentials). The gateway listens on 127.0.0.1 unless HOST says otherwise (`HOST=0.0.0.0`
 * shares it with the network); the services always listen on 127.0.0.1. EXTRA_SUBSCRIBERS adds
 * subscribers of your own (course services) to the bus's.
 */
const configSchema = z.object({
  ...portWithDefault(8080),
  ...hostWithDefault('127.0.0.1'),
  DATA_DIR: z.string().trim().min(1).default('data'),
  /** Subscribers of your own beside the registry's (`./extra-subscribers.ts`); none by default. */
  EXTRA_SUBSCRIBERS: z
    .string()
    .default('')
    .transform((value, ctx) => {
      try {
        return parseExtraSubscribers(value);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
        return z.NEVER;
      }
    }),
});

export type LauncherConfig = z.infer<typeof configSchema>;

export function loadLauncherConfig(env: NodeJS.ProcessEnv = process.env): LauncherConfig {
  return loadConfig(configSchema, env);
}
