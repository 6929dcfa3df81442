import { z } from 'zod';

const LONE_SURROGATE = /\p{Cs}/u;
/** A character a reader sees: not a space, a control character or an invisible format character. */
const VISIBLE = /[^\p{White_Space}\p{Cc}\p{Default_Ignorable_Code_Point}]/u;

/**
 * Text a person typed (a title, a comment): trimmed, then 1 to `max` characters of well-formed
 * Unicode with something visible in it. `trim()` keeps zero-width and other invisible characters,
 * so "not empty" also needs the visibility check; a lone surrogate is not text, and a transport
 * that carries UTF-8 could not store it as it was acknowledged.
 */
export function userTextSchema(max: number) {
  return z
    .string()
    .trim()
    .min(1)
    .max(max)
    .refine((text) => !LONE_SURROGATE.test(text), 'must be valid Unicode (no lone surrogates)')
    .refine((text) => VISIBLE.test(text), 'must not be empty');
}
