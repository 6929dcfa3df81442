import bidiFactory from 'bidi-js';
import unhomoglyph from 'unhomoglyph';

/**
 * Unicode's confusable skeleton (UTS #39, section 4), one code point at a time, for comparing words
 * as a reader sees them. `unhomoglyph` is the data: Unicode's confusables table (`confusables.txt`,
 * version 13) as a map from a character to its prototype (Cyrillic о and Greek ο to o, Greek Ε to
 * E, 0 to O). Around it, what the table leaves out and a moderator needs:
 * - case: the table tells capitals and small letters apart (Greek Ε reads E, ε reads ꞓ), so each
 *   code point is read both as written and in lower case, and compared lower-cased; ASCII letters
 *   are only lower-cased (the table reads I as l and m as rn, which would make KIWI "klwl");
 * - compatibility forms: NFKC first (fullwidth, mathematical, circled, superscript letters);
 * - decorative letters that have no decomposition (negative circled and squared letters, regional
 *   indicators; parenthesized ones, which NFKC would make "(a)"): read as their letter;
 * - Latin small capitals (ʀ, ɴ, ᴇ), which neither NFKC nor the table maps all of;
 * - what a reader does not see: default-ignorable code points, every format character
 *   (bidirectional controls, U+FFF9 to U+FFFB), control characters that are not white space, and
 *   non-spacing and enclosing marks (accents, strike-through): dropped, so they neither change a
 *   letter nor end a word. Spacing marks are seen (Malayalam ം reads as o) and join the word.
 */

/** Code point ranges of decorative letters with no decomposition, each from A (or a) on. */
const DECORATIVE_RANGES: readonly (readonly [first: number, count: number])[] = [
  [0x249c, 26], // ⒜ parenthesized small letters
  [0x1f110, 26], // 🄐 parenthesized capital letters
  [0x1f150, 26], // 🅐 negative circled capital letters
  [0x1f170, 26], // 🅰 negative squared capital letters
  [0x1f1e6, 26], // 🇦 regional indicator symbols
];

/** Latin small capitals read as the letters they are; there is no small capital x. */
const SMALL_CAPITALS = new Map(
  [...'ᴀʙᴄᴅᴇꜰɢʜɪᴊᴋʟᴍɴᴏᴘꞯʀꜱᴛᴜᴠᴡʏᴢ'].map((char, index) => [char, 'abcdefghijklmnopqrstuvwyz'[index]!]),
);

/** Characters a reader does not see, or that only change how the others are laid out. */
const UNSEEN = /[\p{Default_Ignorable_Code_Point}\p{Cf}\p{Mn}\p{Me}]|[^\P{Cc}\p{White_Space}]/gu;

const ASCII_LETTER = /^[A-Za-z]$/;

function decorativeLetter(char: string): string | undefined {
  const codePoint = char.codePointAt(0)!;
  for (const [first, count] of DECORATIVE_RANGES)
    if (codePoint >= first && codePoint < first + count) return String.fromCharCode(0x61 + codePoint - first);
  return undefined;
}

/** Compatibility forms unified and unseen characters dropped; the case is kept. */
function seen(text: string): string {
  return text.normalize('NFKC').normalize('NFD').replace(UNSEEN, '');
}

/** One step: each character as its prototype (ASCII letters and small capitals as their small letter). */
function prototypes(text: string): string {
  let out = '';
  for (const char of text) {
    if (ASCII_LETTER.test(char)) out += char.toLowerCase();
    else out += SMALL_CAPITALS.get(char) ?? unhomoglyph(char);
  }
  return seen(out);
}

/** A text as it reads, in the case it is written in, then lower-cased: the table until nothing changes (ꭺ to ᴀ to a). */
function readAsWritten(text: string): string {
  let current = seen(text);
  for (let round = 0; round < 4; round++) {
    const next = prototypes(current);
    if (next === current) break;
    current = next;
  }
  return current.toLowerCase();
}

/** Readings of the code points seen so far; bounded, since the text is anyone's. */
const readingCache = new Map<string, readonly string[]>();
const MAX_CACHED = 20_000;

/**
 * What one code point reads as: as written and in lower case, each lower-cased at the end (one
 * reading when they agree, none when it is not seen).
 */
export function readingsOf(char: string): readonly string[] {
  const known = readingCache.get(char);
  if (known) return known;
  const base = decorativeLetter(char) ?? char;
  const readings = [...new Set([readAsWritten(base), readAsWritten(base.toLowerCase())])].filter(
    (reading) => reading.length > 0,
  );
  if (readingCache.size < MAX_CACHED) readingCache.set(char, readings);
  return readings;
}

/** The skeleton of a text: each code point as written, read through the table, lower-cased. */
export function skeleton(text: string): string {
  let out = '';
  for (const char of text) out += readingsOf(char)[0] ?? '';
  return out;
}

/**
 * The forms a blocked word is compared in: its skeleton as written, in lower case and in capitals,
 * so that a text in either case matches it (Cyrillic к and К are read differently by the table).
 */
export function blockedForms(word: string): string[] {
  const forms = [word, word.toLowerCase(), word.toUpperCase()].map((form) =>
    [...form].map((char) => readAsWritten(decorativeLetter(char) ?? char)).join(''),
  );
  return [...new Set(forms)].filter((form) => form.length > 0);
}

/** A word a moderator can be given: letters (and their marks) once compatibility forms are unified and unseen characters dropped. */
export function isWordOfLetters(word: string): boolean {
  return /^[\p{L}\p{M}]+$/u.test(seen(word));
}

/**
 * A code point that belongs to the word around it: a letter or a spacing mark, or a symbol that reads as letters
 * (ⓞ, 🅾). Digits and punctuation end a word, even one that reads as a letter (0, 1, |), though
 * they can stand for a letter inside one ("0range").
 */
export function joinsWord(char: string, readings: readonly string[] = readingsOf(char)): boolean {
  return /[\p{L}\p{M}]/u.test(char) || (/\p{S}/u.test(char) && readings.some((reading) => /^\p{L}+$/u.test(reading)));
}

const bidi = bidiFactory();

/**
 * The layout reverses UTF-16 code units: a character outside the BMP in a reversed run comes out
 * as its two halves swapped, put back here.
 */
const SWAPPED_SURROGATES = /([\udc00-\udfff])([\ud800-\udbff])/g;

/** Each line is laid out on its own, and its break kept where it was (the layout would drop it). */
const LINE_BREAK = /(\r\n|[\n\r\u0085\u2028\u2029])/u;

/**
 * The orders a reader may see the text in: as stored, and as laid out by the Unicode bidirectional
 * algorithm in a left-to-right and in a right-to-left paragraph (overrides, embeddings and
 * isolates, nested or not: `\u202eeg\u202enaro` shows "orange").
 */
export function displayOrders(text: string): string[] {
  const laidOut = (['ltr', 'rtl'] as const).map((direction) =>
    text
      .split(LINE_BREAK)
      .map((part, index) =>
        index % 2 === 1
          ? part
          : bidi.getReorderedString(part, bidi.getEmbeddingLevels(part, direction)).replace(SWAPPED_SURROGATES, '$2$1'),
      )
      .join(''),
  );
  return [...new Set([text, ...laidOut])];
}
