import { EVENT_TYPES } from '../src/events/catalog';
import { SERVICES } from '../src/registry';
import { natsNodeConfig } from '../src/transport/jetstream/server-config';
import { natsPermissions, parseSubject, streamSubjects, subjectOf } from '../src/transport/jetstream/subjects';

const PASSWORDS = Object.fromEntries(
  ['posts', 'comments', 'moderation', 'query', 'admin'].map((name) => [name, `${name}-`.padEnd(43, 'x')]),
);

describe('JetStream subjects', () => {
  it('gives every event type its own subjects in the stream', () => {
    expect(streamSubjects()).toEqual(EVENT_TYPES.map((type) => `blog.${type}.*`));
  });

  it.each(['post-1', 'a.b*c>d e', 'ünïcødé/✓', '_'])('carries the key %j in one subject token and back', (key) => {
    const subject = subjectOf('CommentCreated', key);

    expect(subject.split('.')).toHaveLength(3);
    expect(parseSubject(subject)).toEqual({ type: 'CommentCreated', key });
  });

  it('gives an event without a key a token no key can have', () => {
    expect(subjectOf('PostCreated')).toBe('blog.PostCreated._');
    expect(parseSubject('blog.PostCreated._')).toEqual({ type: 'PostCreated', key: undefined });
  });

  it.each(['blog.Unknown._', 'other.PostCreated._', 'blog.PostCreated', 'blog.PostCreated._.extra'])(
    'does not read %s as an event',
    (subject) => {
      expect(parseSubject(subject)).toBeUndefined();
    },
  );

  it('lets a service that publishes nothing publish no event subject', () => {
    expect(natsPermissions('query').publish.allow.filter((subject) => subject.startsWith('blog.'))).toEqual([]);
  });
});

describe('natsNodeConfig', () => {
  const ports = [1, 2, 3].map((n) => ({ client: 4000 + n, cluster: 5000 + n, monitor: 6000 + n }));

  it('routes each node of a cluster to the two others, on loopback', () => {
    const config = JSON.parse(natsNodeConfig({ index: 1, ports, storeDir: '/data/nats-1', passwords: PASSWORDS }));

    expect(config.listen).toBe('127.0.0.1:4002');
    expect(config.cluster).toEqual({
      name: 'mini-blog',
      listen: '127.0.0.1:5002',
      routes: ['nats-route://127.0.0.1:5001', 'nats-route://127.0.0.1:5003'],
    });
    expect(config.jetstream).toEqual({ store_dir: '/data/nats-1' });
  });

  it('lets each service publish only the event subjects the registry says it publishes', () => {
    const config = JSON.parse(
      natsNodeConfig({ index: 0, ports: ports.slice(0, 1), storeDir: '/data', passwords: PASSWORDS }),
    );
    const users: { user: string; password: string; permissions: { publish: { allow: string[] } } }[] =
      config.accounts.BLOG.users;

    for (const name of ['posts', 'comments', 'moderation', 'query'] as const) {
      const user = users.find((candidate) => candidate.user === name);
      expect(user?.password).toBe(PASSWORDS[name]);
      const events = user!.permissions.publish.allow.filter((subject) => subject.startsWith('blog.'));
      expect(events).toEqual(SERVICES[name].publishes.map((type) => `blog.${type}.*`));
    }
    expect(config.cluster).toBeUndefined();
  });

  it('refuses to write a user without a password', () => {
    const { query: _query, ...others } = PASSWORDS;
    expect(() => natsNodeConfig({ index: 0, ports, storeDir: '/data', passwords: others })).toThrow(
      'nats: no password for query',
    );
  });
});
