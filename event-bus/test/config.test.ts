import { DEFAULT_SUBSCRIBERS, loadBusConfig, parseSubscribers } from '../src/config';

describe('SUBSCRIBERS', () => {
  it('parses name=url entries with their options', () => {
    expect(parseSubscribers('query=http://localhost:4002/events|types=PostCreated+CommentCreated|batch, moderation=http://m:4003/events|mode=block')).toEqual([
      { name: 'query', url: 'http://localhost:4002/events', types: ['PostCreated', 'CommentCreated'], batch: true, mode: 'park' },
      { name: 'moderation', url: 'http://m:4003/events', types: null, batch: false, mode: 'block' },
    ]);
  });

  it('reads an empty value as no subscribers', () => {
    expect(parseSubscribers('')).toEqual([]);
  });

  it.each([
    ['http://x/events', 'must start with name=url'],
    ['a=ftp://x/events', 'must be an http(s) URL'],
    ['a=http://x/events,a=http://y/events', '"a": must appear once'],
    ['a=http://x/events|types=PostDeleted', 'type PostDeleted must be one of'],
    ['a=http://x/events|mode=drop', 'option "mode=drop" must be one of'],
    ['a=http://x/events|batch=yes', 'option "batch=yes"'],
  ])('rejects %s', (value, message) => {
    expect(() => parseSubscribers(value)).toThrow(message);
  });

  it('defaults to the four course services', () => {
    const config = loadBusConfig({});

    expect(config.SUBSCRIBERS.map(({ name, url }) => `${name}=${url}`).join(',')).toBe(DEFAULT_SUBSCRIBERS);
    expect(config).toMatchObject({ PORT: 4005, DATA_DIR: './data' });
  });

  it('fails at startup with a message naming the variable', () => {
    expect(() => loadBusConfig({ SUBSCRIBERS: 'a=nope' })).toThrow(/SUBSCRIBERS: "a": nope must be an http\(s\) URL/);
    expect(() => loadBusConfig({ POISON_ATTEMPTS: '0' })).toThrow(/POISON_ATTEMPTS/);
  });
});
