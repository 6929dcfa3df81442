import { busConfigSchema, loadConfig, portWithDefault } from '@mini-blog/common';
import { z } from 'zod';
import { normalizeForComparison } from './domain';

export const configSchema = busConfigSchema.extend({
  ...portWithDefault(4003),
  /**
   * Comma-separated; a comment containing any of them as a whole word is rejected. Each must be
   * letters only once normalized: a digit, hyphen or apostrophe ends a word, so no word holds one.
   */
  BLOCKED_WORDS: z
    .string()
    .default('orange')
    .transform((value) =>
      value
        .split(',')
        .map((word) => word.trim())
        .filter((word) => word.length > 0),
    )
    .pipe(
      z.array(
        z
          .string()
          .refine(
            (word) => /^\p{L}+$/u.test(normalizeForComparison(word)),
            'must be single words of letters separated by commas',
          ),
      ),
    ),
});

export const readConfig = (env: NodeJS.ProcessEnv = process.env) => loadConfig(configSchema, env);
