import { z } from 'zod';

/**
 * A setting that lists its entries comma-separated (`TRUSTED_PROXIES`, `CORS_ORIGINS`,
 * `BLOCKED_WORDS`): each entry trimmed, empty ones left out, then each checked by `entry`, whose
 * message names the rule. Empty (or the empty default) is an empty list.
 */
export function commaListSetting<T extends z.ZodType<unknown, string>>(defaultValue: string, entry: T) {
  return z
    .string()
    .default(defaultValue)
    .transform((value) =>
      value
        .split(',')
        .map((part) => part.trim())
        .filter((part) => part.length > 0),
    )
    .pipe(z.array(entry));
}
