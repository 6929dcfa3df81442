import { z } from 'zod';

const LONE_SURROGATE = /\p{Cs}/u;
/** A character a reader sees: not a space, a control character or an invisible format character. */
const VISIBLE = /[^\p{White_Space}\p{Cc}\p{Default_Ignorable_Code_Point}]/u;

/**
 * Characters a person does not type into a title or a comment, and that change what a reader sees
 * without showing themselves: C0 and C1 control characters (tab, line feed and carriage return
 * are text), the bidirectional embeddings, overrides and isolates (`\u202e` shows "egnaro" as
 * "orange"), the interlinear annotation characters U+FFF9 to U+FFFB and the deprecated format
 * characters U+206A to U+206F. They are refused rather than removed: what is stored is what the
 * writer sent, or nothing. Invisible characters that real text needs stay allowed: joiners (emoji
 * sequences, Persian and Indic scripts), direction marks, the soft hyphen, variation selectors.
 */
const REFUSED_CHARACTER = /[^\P{Cc}\t\n\r]|[\u202a-\u202e\u2066-\u206f\ufff9-\ufffb]/u;

/** The rule a refused character breaks; its answer is 422 (well-formed text, not acceptable), see `statusOfIssues`. */
export const REFUSED_CHARACTER_RULE =
  'must not contain control characters, bidirectional embeddings, overrides or isolates, or annotation characters';

/** Marks an issue whose answer is 422 rather than 400. */
export const UNPROCESSABLE = { status: 422 } as const;

const codePointName = (char: string) => `U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;

/**
 * Text a person typed (a title, a comment): trimmed, then 1 to `max` characters of well-formed
 * Unicode with something visible in it and no refused character. `trim()` keeps zero-width and
 * other invisible characters, so "not empty" also needs the visibility check; a lone surrogate is
 * not text, and a transport that carries UTF-8 could not store it as it was acknowledged.
 */
export function userTextSchema(max: number) {
  return z
    .string()
    .trim()
    .min(1)
    .max(max)
    .refine((text) => !LONE_SURROGATE.test(text), 'must be valid Unicode (no lone surrogates)')
    .refine((text) => VISIBLE.test(text), 'must not be empty')
    .superRefine((text, ctx) => {
      const found = REFUSED_CHARACTER.exec(text);
      if (found)
        ctx.addIssue({
          code: 'custom',
          message: `${REFUSED_CHARACTER_RULE} (${codePointName(found[0])} at ${[...text.slice(0, found.index)].length + 1})`,
          params: UNPROCESSABLE,
        });
    });
}
