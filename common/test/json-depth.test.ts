import { MAX_JSON_DEPTH, nestsDeeperThan } from '../src/service/json-depth';
import { subjectOf } from '../src/transport/jetstream/subjects';
import { toRawEnvelope } from '../src/transport/jetstream/stream';

const arrays = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

describe('nestsDeeperThan', () => {
  it.each([
    ['arrays at the limit', arrays(MAX_JSON_DEPTH), false],
    ['arrays one past the limit', arrays(MAX_JSON_DEPTH + 1), true],
    ['objects 5,000 deep', `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`, true],
    ['a field of an event 5,000 deep', `{"type":"PostCreated","data":{"id":"p","x":${arrays(5000)}}}`, true],
    ['brackets inside strings', JSON.stringify({ text: '['.repeat(10_000), quote: '"[[[\\' }), false],
    ['escaped quotes that do not end the string', `{"a":"\\"${'['.repeat(100)}"}`, false],
    ['an unterminated document, deep', '['.repeat(MAX_JSON_DEPTH + 1), true],
    ['text that is not JSON', 'hello', false],
    ['multi-byte characters around brackets', JSON.stringify({ a: ['ä€😀'.repeat(50)] }), false],
  ])('%s: %s', (_name, text, deep) => {
    expect(nestsDeeperThan(text)).toBe(deep);
    expect(nestsDeeperThan(Buffer.from(text, 'utf8'))).toBe(deep);
  });
});

describe('a JetStream message nested too deep', () => {
  const stored = (body: string) => ({
    seq: 1,
    subject: subjectOf('PostCreated'),
    id: 'PostCreated:p1',
    time: new Date(0),
    body: Buffer.from(body, 'utf8'),
  });

  it('is not an event: the consumer skips it before parsing it', () => {
    expect(toRawEnvelope(stored(`{"id":"p1","title":"t","x":${arrays(5000)}}`))).toBeUndefined();
    expect(toRawEnvelope(stored('{"id":"p1","title":"t"}'))).toEqual(
      expect.objectContaining({ data: { id: 'p1', title: 't' } }),
    );
  });
});
