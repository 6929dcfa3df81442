import { z } from 'zod';
import { userTextSchema } from '../src/events';
import { describeIssues } from '../src/service/validation';

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
});
