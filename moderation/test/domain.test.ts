import fc from 'fast-check';
import confusables from 'unhomoglyph/data.json';
import { createModerator } from '../src/domain';
import { skeleton } from '../src/skeleton';

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
    ['negative squared letters', '🅾🆁🅰🅽🅶🅴'],
    ['negative circled letters', '🅞🅡🅐🅝🅖🅔'],
    ['squared letters', '🄾🅁🄰🄽🄶🄴'],
    ['parenthesized small letters', '⒪⒭⒜⒩⒢⒠'],
    ['parenthesized capital letters', '🄞🄡🄐🄝🄖🄔'],
    ['regional indicator letters', '🇴🇷🇦🇳🇬🇪'],
    ['Cyrillic о', '\u043erange'],
    ['Cyrillic а and е', 'or\u0430ng\u0435'],
    ['Greek ο', '\u03bfrange'],
    ['Armenian օ', '\u0585range'],
    ['Cherokee Ꭴ', '\u13a4range'],
    ['Cherokee small ꮎ, which the table reads as o with a stroke', '\uab8erange'],
    ['upper-case Cyrillic О', '\u041eRANGE'],
    ['the digit 0 for o', '0range'],
    ['an apostrophe after it', "orange's"],
    ['a hyphen after it', 'orange-juice'],
    ['a hyphen before it', 'blood-orange'],
    ['a digit after it', 'orange2'],
    ['a digit that reads as a letter after it', 'orange1'],
    ['an underscore around it', '_orange_'],
    ['combining acute accent', 'o\u0301range'],
    ['combining strike-through on every letter', 'o\u0336r\u0336a\u0336n\u0336g\u0336e\u0336'],
    ['precomposed accents', 'öràngé'],
    ['a combining grapheme joiner', 'ora\u034fnge'],
    ['mixed case', 'OrAnGe'],
    ['inside a sentence, with emoji', 'I love 🍊orange🍊 so much'],
    ['small capital letters', 'o\u0280a\u0274\u0262\u1d07'],
    ['small capitals for every letter', '\u1d0f\u0280\u1d00\u0274\u0262\u1d07'],
    ['a C0 control inside it', 'or\u0007ange'],
    ['a NUL inside it', 'ora\u0000nge'],
    ['a C1 control inside it', 'oran\u009bge'],
    ['interlinear annotation characters', 'or\ufff9an\ufffage\ufffb'],
    ['an annotation anchor alone', 'ora\ufff9nge'],
    ['its letters reversed under a right-to-left override (shown as "orange")', '\u202eegnaro'],
    ['nested right-to-left overrides (shown as "orange")', '\u202eeg\u202enaro'],
    ['nested overrides closed again', 'I said \u202eeg\u202enaro\u202c\u202c today'],
    ['an override inside a left-to-right override', '\u202d\u202eegnaro\u202c\u202c'],
    ['part of it reversed under an override that ends', 'I like or\u202eegna\u202c juice'],
    ['the word itself under a right-to-left override (stored as "orange")', '\u202eorange\u202c'],
    ['an override on a line of its own', 'first line\n\u202eegnaro\nlast line'],
  ])('rejects "orange" spelled with %s', (_how, content) => {
    expect(moderate(content)).toBe('rejected');
  });

  it.each([
    ['a longer word that starts with it', 'oranges'],
    ['a longer word that starts with a disguise of it', '0ranges'],
    ['a longer word that looks like it', 'orangutan'],
    ['letters split by a space', 'or ange'],
    ['letters split by a line break', 'or\nange'],
    ['letters split by a next-line control (white space)', 'or\u0085ange'],
    ['letters split by a digit that reads as no letter', 'or4nge'],
    ['m, which looks like rn, beside the letters of the word', 'orarnge'],
    ['Cyrillic that reads as another word', '\u0441\u043e\u0440\u0435'],
    ['Greek capitals that only partly look like it', 'ΟΡΑΝΓΕ'],
    ['a letter before a word of decorative letters', 'x🅾🆁🅰🅽🅶🅴'],
  ])('approves %s', (_how, content) => {
    expect(moderate(content)).toBe('approved');
  });

  it('compares the blocked words by their skeletons too, in any script', () => {
    expect(createModerator(['ＯＲＡＮＧＥ'])('orange')).toBe('rejected');
    expect(createModerator(['café'])('CAFE')).toBe('rejected');
    expect(createModerator(['kiwi'])('KIWI')).toBe('rejected');
    expect(createModerator(['spam'])('\u0455\u0440\u0430m')).toBe('rejected');
    expect(createModerator(['spam'])('sparn')).toBe('approved');
    expect(createModerator(['дурак'])('ДУРАК!')).toBe('rejected');
    expect(createModerator(['дурак'])('дураки')).toBe('approved');
    expect(createModerator(['שלום'])('אמר שלום לכולם')).toBe('rejected');
    // б reads as the digit 6, yet it is a letter: it neither ends the word nor stops it matching.
    expect(createModerator(['яблоко'])('ЯБЛОКО, яблоко')).toBe('rejected');
    expect(createModerator(['яблоко'])('яблоков')).toBe('approved');
  });
});

describe('skeleton', () => {
  it('reads look-alikes of every script as their prototype, lower-cased', () => {
    expect(skeleton('ORANGE Оrаngе ｏｒａｎｇｅ 0range')).toBe('orange orange orange orange');
  });

  it('drops what a reader does not see', () => {
    expect(skeleton('o\u200br\u00ada\u0007n\u202eg\ufff9e\u0301')).toBe('orange');
  });

  it('keeps I as i (the table reads a capital I as l)', () => {
    expect(skeleton('KIWI')).toBe('kiwi');
  });
});

describe('createModerator, whatever the disguise', () => {
  const moderate = createModerator(['orange']);
  const table = confusables as Record<string, string>;

  /** For each letter: itself, its capital, and every single code point the confusables table reads as either. */
  const lookAlikesOf = (letter: string): string[] => [
    letter,
    letter.toUpperCase(),
    ...Object.keys(table).filter(
      (source) => [...source].length === 1 && (table[source] === letter || table[source] === letter.toUpperCase()),
    ),
    String.fromCodePoint(0xff41 + letter.charCodeAt(0) - 0x61), // fullwidth
    String.fromCodePoint(0x1d41a + letter.charCodeAt(0) - 0x61), // mathematical bold
    String.fromCodePoint(0x1f170 + letter.charCodeAt(0) - 0x61), // negative squared
    String.fromCodePoint(0x1f1e6 + letter.charCodeAt(0) - 0x61), // regional indicator
  ];
  const lookAlikes = Object.fromEntries([...'orange'].map((letter) => [letter, lookAlikesOf(letter)]));
  const invisible = fc.constantFrom(
    '',
    '\u00ad',
    '\u200b',
    '\u200c',
    '\u200d',
    '\u2060',
    '\ufeff',
    '\u034f',
    '\ufe0f',
    '\u0000',
    '\u0007',
    '\u001b',
    '\u007f',
    '\u0090',
    '\u009b',
    '\ufff9',
    '\ufffa',
    '\ufffb',
    '\u200e',
  );
  const mark = fc.constantFrom('', '\u0301', '\u0308', '\u0336', '\u0323');
  const disguisedLetters = fc.tuple(
    ...[...'orange'].map((letter) => fc.tuple(fc.constantFrom(...lookAlikes[letter]!), mark, invisible)),
  );
  const reversed = (letters: readonly string[]) => [...letters].reverse().join('');
  /** As stored: in order, or reversed under one right-to-left override, or under two nested ones (each shows the word). */
  const disguised = fc
    .tuple(disguisedLetters, fc.constantFrom('plain', 'override', 'nested'), fc.integer({ min: 1, max: 5 }))
    .map(([letters, layout, split]) => {
      const parts = letters.map((part) => part.join(''));
      switch (layout) {
        case 'plain':
          return parts.join('');
        case 'override':
          return `\u202e${reversed(parts)}\u202c`;
        case 'nested':
          return `\u202e${reversed(parts.slice(split))}\u202e${reversed(parts.slice(0, split))}\u202c\u202c`;
      }
    });
  const boundary = fc.constantFrom(' ', '-', "'", '2', '_', '.', '!', '\n', '🍊');

  it('has look-alikes from several scripts for each letter', () => {
    for (const letter of 'orange') expect(lookAlikes[letter]!.length).toBeGreaterThan(6);
  });

  it('rejects "orange" in look-alike letters of any script, with marks, controls and invisible characters, stored in order or reversed under overrides, between any boundaries', () => {
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
      { numRuns: 500 },
    );
  });

  it('approves a longer word made of the same disguised letters', () => {
    fc.assert(
      fc.property(disguisedLetters, (letters) => {
        expect(moderate(`${letters.map((part) => part.join('')).join('')}s`)).toBe('approved');
      }),
      { numRuns: 200 },
    );
  });
});
