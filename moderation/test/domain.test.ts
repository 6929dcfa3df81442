import fc from 'fast-check';
import { createModerator, normalizeForComparison, wordsOf } from '../src/domain';

describe('createModerator', () => {
  const moderate = createModerator(['orange', 'Spam']);

  it.each([
    ['I like apples', 'approved'],
    ['I like orange', 'rejected'],
    ['ORANGE juice', 'rejected'],
    ['an orange, please!', 'rejected'],
    ['so much spam here', 'rejected'],
    ['oranges are fine', 'approved'],
    ['orangeade is fine', 'approved'],
    ['an orangutan', 'approved'],
    ['', 'approved'],
  ])('judges %j as %s', (content, verdict) => {
    expect(moderate(content)).toBe(verdict);
  });

  // Each spelling shows "orange" to a reader (or holds it as a word) and must be rejected.
  it.each([
    ['soft hyphen', 'or\u00adange'],
    ['zero-width space', 'or\u200bange'],
    ['zero-width joiner', 'ora\u200dnge'],
    ['word joiner', 'oran\u2060ge'],
    ['byte order mark', '\ufefforange'],
    ['variation selector', 'orange\ufe0f'],
    ['fullwidth letters', 'ｏｒａｎｇｅ'],
    ['mathematical bold letters', '𝐨𝐫𝐚𝐧𝐠𝐞'],
    ['circled letters', 'ⓞⓡⓐⓝⓖⓔ'],
    ['Cyrillic о', '\u043erange'],
    ['Cyrillic а and е', 'or\u0430ng\u0435'],
    ['Greek ο', '\u03bfrange'],
    ['Armenian օ', '\u0585range'],
    ['upper-case Cyrillic О', '\u041eRANGE'],
    ['an apostrophe after it', "orange's"],
    ['a hyphen after it', 'orange-juice'],
    ['a hyphen before it', 'blood-orange'],
    ['a digit after it', 'orange2'],
    ['an underscore around it', '_orange_'],
    ['combining acute accent', 'o\u0301range'],
    ['combining strike-through on every letter', 'o\u0336r\u0336a\u0336n\u0336g\u0336e\u0336'],
    ['precomposed accents', 'öràngé'],
    ['a combining grapheme joiner', 'ora\u034fnge'],
    ['mixed case', 'OrAnGe'],
    ['inside a sentence, with emoji', 'I love 🍊orange🍊 so much'],
    ['small capital letters', 'o\u0280a\u0274\u0262\u1d07'],
    ['small capitals for every letter', '\u1d0f\u0280\u1d00\u0274\u0262\u1d07'],
    ['its letters reversed under a right-to-left override (shown as "orange")', '\u202eegnaro'],
    ['part of it reversed under an override that ends', 'I like or\u202eegna\u202c juice'],
    ['the word itself under a right-to-left override (stored as "orange")', '\u202eorange\u202c'],
  ])('rejects "orange" spelled with %s', (_how, content) => {
    expect(moderate(content)).toBe('rejected');
  });

  it.each([
    ['a longer word that starts with it', 'oranges'],
    ['a longer word that looks like it', 'orangutan'],
    ['letters split by a space', 'or ange'],
    ['letters split by a digit', 'or4nge'],
    ['m, which looks like rn, is not folded', 'orarnge'],
    ['Cyrillic that folds to another word', '\u0441\u043e\u0440\u0435'],
  ])('approves %s', (_how, content) => {
    expect(moderate(content)).toBe('approved');
  });

  it('compares the blocked words in normalized form too', () => {
    expect(createModerator(['ＯＲＡＮＧＥ'])('orange')).toBe('rejected');
    expect(createModerator(['café'])('CAFE')).toBe('rejected');
  });
});

describe('normalizeForComparison', () => {
  it('leaves plain lower-case ASCII as it is', () => {
    expect(normalizeForComparison('orange, kiwi & 42 m')).toBe('orange, kiwi & 42 m');
  });
});

describe('wordsOf', () => {
  it('ends a word at any character that is not a letter', () => {
    expect(wordsOf("it's orange-juice, 2x_kiwi")).toEqual(['it', 's', 'orange', 'juice', 'x', 'kiwi']);
  });

  it('keeps a word of another script whole: a letter that looks like a digit is not folded to it', () => {
    expect(wordsOf('яблоко')).toHaveLength(1);
  });
});

describe('createModerator, whatever the disguise', () => {
  const moderate = createModerator(['orange']);
  const lookAlikes: Record<string, string[]> = {
    o: ['o', 'O', '\u043e', '\u03bf', '\u0585', 'ｏ', '𝐨', 'ⓞ'],
    r: ['r', 'R', 'ｒ', '𝐫'],
    a: ['a', 'A', '\u0430', 'ａ', '𝐚'],
    n: ['n', 'N', 'ｎ', '𝐧'],
    g: ['g', 'G', 'ｇ', '\u0261'],
    e: ['e', 'E', '\u0435', 'ｅ', '𝐞'],
  };
  const invisible = fc.constantFrom('', '\u00ad', '\u200b', '\u200c', '\u200d', '\u2060', '\ufeff', '\u034f', '\ufe0f');
  const mark = fc.constantFrom('', '\u0301', '\u0308', '\u0336', '\u0323');
  const disguised = fc
    .tuple(...[...'orange'].map((letter) => fc.tuple(fc.constantFrom(...lookAlikes[letter]!), mark, invisible)))
    .map((letters) => letters.map((parts) => parts.join('')).join(''));
  const boundary = fc.constantFrom(' ', '-', "'", '2', '_', '.', '!', '\n', '🍊');

  it('rejects "orange" in look-alike letters, with marks and invisible characters, between any boundaries', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('I', 'like', 'juice', 'le'), { maxLength: 3 }),
        boundary,
        disguised,
        boundary,
        (words, before, word, after) => {
          expect(moderate(`${words.join(' ')}${before}${word}${after}${words.join(' ')}`)).toBe('rejected');
        },
      ),
      { numRuns: 300 },
    );
  });
});
