import { createModerator } from '../src/domain';

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
    ['', 'approved'],
  ])('judges %j as %s', (content, verdict) => {
    expect(moderate(content)).toBe(verdict);
  });
});
