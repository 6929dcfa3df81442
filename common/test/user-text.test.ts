import { z } from 'zod';
import { userTextSchema } from '../src/events';
import { AppError } from '../src/service/errors';
import { describeIssues, parseOrThrow } from '../src/service/validation';

const schema = z.object({ title: userTextSchema(10) });

function messageFor(title: string): string {
  const result = schema.safeParse({ title });
  if (result.success) throw new Error(`expected ${JSON.stringify(title)} to be refused`);
  return describeIssues(result.error.issues).message;
}

describe('userTextSchema', () => {
  it.each([
    ['right-to-left text', '  שלום עולם ', 'שלום עולם'],
    ['an emoji', '\ud83d\ude00', '\ud83d\ude00'],
    ['a combining accent', 'cafe\u0301', 'cafe\u0301'],
    ['zero-width characters around a word', '\u200bhi\u200d', '\u200bhi\u200d'],
    ['an emoji sequence with joiners', '👩\u200d💻 ok', '👩\u200d💻 ok'],
    ['Persian with a zero-width non-joiner', 'می\u200cخواهم', 'می\u200cخواهم'],
    ['a right-to-left mark', 'ok \u200fשלום', 'ok \u200fשלום'],
    ['tabs and line breaks inside', 'a\tb\r\nc', 'a\tb\r\nc'],
  ])('accepts %s, trimmed', (_case, title, expected) => {
    expect(schema.parse({ title })).toEqual({ title: expected });
  });

  it.each([
    ['empty', '', 'title: must not be empty'],
    ['blank', '   ', 'title: must not be empty'],
    ['zero-width spaces only', '\u200b\u200b', 'title: must not be empty'],
    ['direction marks and a byte order mark only', '\u200f\u202e\ufeff', 'title: must not be empty'],
    ['a Hangul filler only', '\u3164', 'title: must not be empty'],
    ['control characters only', '\u0000\u0007', 'title: must not be empty'],
    ['a lone high surrogate', 'ok \ud800', 'title: must be valid Unicode (no lone surrogates)'],
    ['surrogates in the wrong order', '\udc00\ud800', 'title: must be valid Unicode (no lone surrogates)'],
    ['too long after trimming', ` ${'x'.repeat(11)} `, 'title: must be at most 10 characters'],
  ])('refuses %s with the rule it breaks', (_case, title, message) => {
    expect(messageFor(title)).toBe(message);
  });

  const RULE =
    'title: must not contain control characters, bidirectional embeddings, overrides or isolates, or annotation characters';
  it.each([
    ['a right-to-left override', 'ab\u202eegn', `${RULE} (U+202E at 3)`],
    ['nested overrides', '\u202eeg\u202en', `${RULE} (U+202E at 1)`],
    ['a left-to-right embedding', 'x\u202ay', `${RULE} (U+202A at 2)`],
    ['an isolate', 'x\u2067y\u2069', `${RULE} (U+2067 at 2)`],
    ['an interlinear annotation anchor', 'or\ufff9ange', `${RULE} (U+FFF9 at 3)`],
    ['an annotation terminator', 'or\ufffbange', `${RULE} (U+FFFB at 3)`],
    ['a NUL inside a word', 'or\u0000ange', `${RULE} (U+0000 at 3)`],
    ['a bell inside a word', 'or\u0007ange', `${RULE} (U+0007 at 3)`],
    ['an escape', 'x\u001b[31m', `${RULE} (U+001B at 2)`],
    ['a C1 control', 'x\u009by', `${RULE} (U+009B at 2)`],
    ['a deprecated format character', 'x\u206ay', `${RULE} (U+206A at 2)`],
    ['after an emoji (positions count characters)', '😀\u202e', `${RULE} (U+202E at 2)`],
  ])('refuses %s with 422, naming the field, the rule and the character', (_case, title, message) => {
    expect(messageFor(title)).toBe(message);
    let thrown: unknown;
    try {
      parseOrThrow(schema, { title });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(AppError);
    expect(thrown).toMatchObject({ status: 422, message });
  });

  it('answers 400, not 422, when another rule is broken too', () => {
    expect(() => parseOrThrow(schema, { title: 'x\u202e'.repeat(6) })).toThrow(
      expect.objectContaining({ status: 400 }),
    );
  });
});
