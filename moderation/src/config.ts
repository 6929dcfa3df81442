import { busConfigSchema, loadConfig, portWithDefault } from '@mini-blog/common';
import { z } from 'zod';

export const configSchema = busConfigSchema.extend({
  ...portWithDefault(4003),
  /** Comma-separated; a comment containing any of them as a whole word is rejected. */
  BLOCKED_WORDS: z
    .string()
    .default('orange')
    .transform((value) => value.split(',').map((word) => word.trim()).filter((word) => word.length > 0))
    .pipe(z.array(z.string().regex(/^[\p{L}\p{N}'-]+$/u, 'must be single words separated by commas'))),
});

export const readConfig = (env: NodeJS.ProcessEnv = process.env) => loadConfig(configSchema, env);
