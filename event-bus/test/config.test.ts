import path from 'node:path';
import { PUBLISHER_NAMES, SERVICES } from '@mini-blog/common/registry';
import { readPrincipals } from '../src/auth/principals';
import { DEFAULT_SUBSCRIBERS, loadBusConfig, parsePublishAcl, parseSubscribers } from '../src/config';
import { secretOf, tempDir, writeCredentials } from './helpers';

describe('SUBSCRIBERS', () => {
  it('parses name=url entries with their options', () => {
    expect(
      parseSubscribers(
        'query=http://localhost:4002/events|types=PostCreated+CommentCreated|batch, moderation=http://m:4003/events|mode=block',
      ),
    ).toEqual([
      {
        name: 'query',
        url: 'http://localhost:4002/events',
        types: ['PostCreated', 'CommentCreated'],
        batch: true,
        mode: 'park',
      },
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

describe('PUBLISH_ACL', () => {
  it('defaults to what each service of the registry publishes', () => {
    const acl = loadBusConfig({}).PUBLISH_ACL;

    expect(Object.fromEntries([...acl].map(([principal, types]) => [principal, [...types]]))).toEqual(
      Object.fromEntries(PUBLISHER_NAMES.map((name) => [name, [...SERVICES[name].publishes]])),
    );
    expect(acl.get('posts')?.has('PostCreated')).toBe(true);
    expect(acl.get('posts')?.has('CommentCreated')).toBe(false);
  });

  it('parses principal=Type+Type entries', () => {
    expect(parsePublishAcl(' posts=PostCreated , importer=PostCreated+CommentCreated ')).toEqual(
      new Map([
        ['posts', new Set(['PostCreated'])],
        ['importer', new Set(['PostCreated', 'CommentCreated'])],
      ]),
    );
  });

  it.each([
    ['', 'must name at least one principal'],
    ['PostCreated', '"PostCreated": must be principal=Type+Type'],
    ['po sts=PostCreated', '"po sts=PostCreated": must be principal=Type+Type'],
    ['posts=PostCreated,posts=CommentCreated', '"posts": must appear once'],
    ['posts=PostDeleted', '"posts": type "PostDeleted" must be one of'],
    ['posts=', '"posts": type "" must be one of'],
  ])('rejects %j at startup, naming the variable', (value, message) => {
    expect(() => loadBusConfig({ PUBLISH_ACL: value })).toThrow(`PUBLISH_ACL: ${message}`);
  });
});

describe('listeners and stream bounds', () => {
  it('listen on 4005 for the API and 4006 for the views by default', () => {
    expect(loadBusConfig({})).toMatchObject({ PORT: SERVICES['event-bus'].port, VIEWS_PORT: 4006 });
  });

  it('bound /flow/stream with the settings query uses', () => {
    expect(loadBusConfig({ STREAM_MAX_CLIENTS: '7', STREAM_MAX_UNSENT_BYTES: '65536' })).toMatchObject({
      STREAM_MAX_CLIENTS: 7,
      STREAM_MAX_UNSENT_BYTES: 65536,
    });
    expect(() => loadBusConfig({ VIEWS_PORT: 'views' })).toThrow(/VIEWS_PORT/);
    expect(() => loadBusConfig({ STREAM_MAX_CLIENTS: '0' })).toThrow(/STREAM_MAX_CLIENTS/);
  });
});

describe('FAULT_SWITCHES', () => {
  it('is off unless set to on, and refuses anything else naming the variable', () => {
    expect(loadBusConfig({}).FAULT_SWITCHES).toBe(false);
    expect(loadBusConfig({ FAULT_SWITCHES: 'on' }).FAULT_SWITCHES).toBe(true);
    expect(() => loadBusConfig({ FAULT_SWITCHES: 'yes' })).toThrow('FAULT_SWITCHES: must be on or off');
  });
});

describe('credentials', () => {
  const dir = tempDir();
  afterAll(() => dir.remove());
  const config = (env: Record<string, string>) => loadBusConfig({ SUBSCRIBERS: 'query=http://q/events', ...env });
  const everyone = {
    posts: [secretOf('posts')],
    comments: [secretOf('comments')],
    moderation: [secretOf('moderation')],
    query: [secretOf('query')],
    admin: [secretOf('admin')],
  };

  it('reads one file per principal: each subscriber, each publisher and admin', () => {
    const folder = path.join(dir.path, 'complete');
    writeCredentials(folder, { ...everyone, query: ['query-next-secret-'.padEnd(43, 'n'), secretOf('query')] });

    const principals = readPrincipals(config({ CREDENTIALS_DIR: folder }));

    expect(principals.secretsOf('query')).toEqual(['query-next-secret-'.padEnd(43, 'n'), secretOf('query')]);
    expect(principals.identify(secretOf('query'))).toBe('query');
    expect(principals.identify(secretOf('admin'))).toBe('admin');
    expect(principals.identify('x'.repeat(43))).toBeUndefined();
  });

  it('stops the bus without CREDENTIALS_DIR, saying what it is', () => {
    expect(() => readPrincipals(config({}))).toThrow(/CREDENTIALS_DIR: is required/);
  });

  it.each([
    ['a subscriber', 'query'],
    ['a publisher', 'moderation'],
    ['admin', 'admin'],
  ])('stops the bus when %s has no credential, naming the file', (_case, missing) => {
    const folder = path.join(dir.path, `without-${missing}`);
    writeCredentials(folder, Object.fromEntries(Object.entries(everyone).filter(([name]) => name !== missing)));

    expect(() => readPrincipals(config({ CREDENTIALS_DIR: folder }))).toThrow(
      new RegExp(`${path.join(folder, missing)}: does not exist`),
    );
  });

  it('refuses two principals sharing a secret', () => {
    const folder = path.join(dir.path, 'shared');
    writeCredentials(folder, { ...everyone, admin: [secretOf('posts')] });

    expect(() => readPrincipals(config({ CREDENTIALS_DIR: folder }))).toThrow('must not share a secret');
  });
});
