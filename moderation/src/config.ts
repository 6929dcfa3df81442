import { busConfigSchema, commaListSetting, loadConfig, portWithDefault } from '@mini-blog/common/service';
import { z } from 'zod';
import { isWordOfLetters } from './skeleton';

export const configSchema = busConfigSchema.extend({
  ...portWithDefault(4003),
  /**
   * Comma-separated; a comment containing any of them as a whole word is rejected. Each must be
   * letters only (in any script or width): a digit, hyphen or apostrophe ends a word, so no word
   * holds one.
   */
  BLOCKED_WORDS: commaListSetting(
    'orange',
    z.string().refine(isWordOfLetters, 'must be single words of letters separated by commas'),
  ),
});

export const readConfig = (env: NodeJS.ProcessEnv = process.env) => loadConfig(configSchema, env);
