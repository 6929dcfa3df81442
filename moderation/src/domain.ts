import unhomoglyph from 'unhomoglyph';
import { assertNever, type CommentCreated, type Envelope, type Handled, type NewEvent } from '@mini-blog/common';

export type Verdict = 'approved' | 'rejected';

/**
 * Latin small capitals (ʀ, ᴇ, ɴ...) read as the letters they are, but neither NFKC nor the
 * confusables table maps them; there is no small capital x.
 */
const SMALL_CAPITALS = new Map(
  [...'ᴀʙᴄᴅᴇꜰɢʜɪᴊᴋʟᴍɴᴏᴘꞯʀꜱᴛᴜᴠᴡʏᴢ'].map((char, index) => [char, 'abcdefghijklmnopqrstuvwyz'[index]!]),
);

/** A letter that looks like Latin letters, as those (Cyrillic о as o); any other character as it is (Cyrillic б, which looks like 6). */
function foldLookAlike(char: string): string {
  const folded = SMALL_CAPITALS.get(char) ?? unhomoglyph(char);
  return /^[\p{Script=Latin}\p{M}]+$/u.test(folded) ? folded : char;
}

/**
 * The form words are compared in, so that a blocked word cannot be spelled around: compatibility
 * forms unified (fullwidth, ligatures, mathematical letters: NFKC), invisible code points dropped
 * (soft hyphen, zero-width space, joiners), marks dropped (combining accents, strike-through),
 * letters of other scripts that look like Latin ones folded to them (Unicode's confusables table,
 * from `unhomoglyph`), lower case. ASCII is never folded: `m` stays `m`, not `rn`.
 */
export function normalizeForComparison(text: string): string {
  const unmarked = text
    .normalize('NFKC')
    .replace(/\p{Default_Ignorable_Code_Point}/gu, '')
    .normalize('NFD')
    .replace(/\p{M}/gu, '');
  return unmarked
    .replace(/[^\p{ASCII}]/gu, foldLookAlike)
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .toLowerCase();
}

/** The words of a normalized text: runs of letters, any other character (digit, hyphen, apostrophe, space) ends one. */
export function wordsOf(text: string): string[] {
  return normalizeForComparison(text)
    .split(/\P{L}+/u)
    .filter((word) => word.length > 0);
}

/** A right-to-left override (U+202E) up to its end (PDF, another directional control, a line's end): its letters are shown in reverse. */
const RIGHT_TO_LEFT_OVERRIDE = /\u202e([^\u202a-\u202e\u2066-\u2069\n\r\u2028\u2029]*)/gu;

/** The text in the order a reader sees its letters: "\u202eegnaro" shows "orange". */
function asDisplayed(text: string): string {
  return text.replace(RIGHT_TO_LEFT_OVERRIDE, (_override, run: string) => [...run].reverse().join(''));
}

/**
 * Rejects a text that holds a blocked word as a whole word, compared in normalized form ("Orange!",
 * "orange-juice", "ｏｒａｎｇｅ", "or\u00adange"), but not a longer word that starts with it ("oranges").
 * Both the order the text is stored in and the order it is shown in count.
 */
export function createModerator(blockedWords: readonly string[]): (content: string) => Verdict {
  const blocked = new Set(blockedWords.map(normalizeForComparison));
  const holdsBlocked = (text: string) => wordsOf(text).some((word) => blocked.has(word));
  return (content) => (holdsBlocked(content) || holdsBlocked(asDisplayed(content)) ? 'rejected' : 'approved');
}

export function commentModerated(comment: CommentCreated, status: Verdict): NewEvent<'CommentModerated'> {
  return { type: 'CommentModerated', id: `CommentModerated:${comment.id}`, data: { ...comment, status } };
}

/** Moderation keeps no state of its own: every new comment gets exactly one verdict, by its id. */
export function apply(moderate: (content: string) => Verdict, event: Envelope<Handled<'moderation'>>): NewEvent[] {
  switch (event.type) {
    case 'CommentCreated':
      return [commentModerated(event.data, moderate(event.data.content))];
    default:
      return assertNever(event.type);
  }
}
