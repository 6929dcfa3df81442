import { EVENT_TYPES } from '../src/events/catalog';
import { keyedTypes, SERVICES, type ServiceName } from '../src/registry';
import { natsNodeConfig } from '../src/transport/jetstream/server-config';
import {
  faultAnswerSubject,
  faultSubject,
  inboxPrefix,
  liveConsumerName,
  natsPermissions,
  natsPrincipals,
  parseSubject,
  readerConsumerName,
  REPLICA_SLOTS,
  streamSubjects,
  subjectOf,
  VIEWS_PRINCIPAL,
} from '../src/transport/jetstream/subjects';

const PASSWORDS = Object.fromEntries(natsPrincipals().map((name) => [name, `${name}-`.padEnd(43, 'x')]));
const ROUTE_PASSWORD = 'r'.repeat(43);
/** Every service with a NATS user: each one that publishes or consumes events. */
const SERVICES_WITH_USERS = natsPrincipals().filter(
  (name): name is ServiceName => name !== VIEWS_PRINCIPAL && name !== 'admin',
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

describe('natsPermissions', () => {
  const services = SERVICES_WITH_USERS;
  const consumerSubjects = (allow: readonly string[]) =>
    allow.filter((subject) => subject.startsWith('$JS.API.CONSUMER.') || subject.startsWith('$JS.ACK.'));

  it.each(services)('lets %s touch only the consumers of its own slots, each by its name', (name) => {
    const allowed = consumerSubjects(natsPermissions(name).publish.allow);
    const own = Array.from({ length: REPLICA_SLOTS }, (_, slot) => [
      liveConsumerName(name, slot),
      readerConsumerName(name, slot),
    ]).flat();

    expect(allowed.filter((subject) => /[*>]/.test(subject.replace(/\.>$/, '')))).toEqual([]);
    for (const subject of allowed) expect(own).toContain(subject.replace(/\.>$/, '').split('.').at(-1));
    expect(allowed.filter((subject) => subject.startsWith('$JS.ACK.'))).toEqual(
      Array.from({ length: REPLICA_SLOTS }, (_, slot) => `$JS.ACK.BLOG.${liveConsumerName(name, slot)}.>`),
    );
    expect(allowed.some((subject) => subject.includes('DURABLE.CREATE') || subject.endsWith('.LIST.BLOG'))).toBe(false);
  });

  it.each(services)(
    'lets %s receive replies only under its own inbox prefix, and hear its own fault subject',
    (name) => {
      expect(natsPermissions(name).subscribe.allow).toEqual([`${inboxPrefix(name)}.>`, faultSubject(name)]);
      // Only admin may publish on a fault subject: no service's user may set another's switches.
      for (const other of services) expect(natsPermissions(other).publish.allow).not.toContain(faultSubject(name));
      // It answers on its own fault answer subject alone, and is tracked for no other reply (no allow_responses).
      expect(natsPermissions(name).publish.allow.filter((subject) => subject.startsWith('mini-blog.'))).toEqual([
        faultAnswerSubject(name, '*'),
      ]);
      expect(natsPermissions(name)).not.toHaveProperty('allow_responses');
    },
  );

  it('puts a key only on the types whose keys the registry gives the publisher', () => {
    const events = (name: (typeof services)[number]) =>
      natsPermissions(name).publish.allow.filter((subject) => subject.startsWith('blog.'));

    for (const name of services) {
      const keyed = keyedTypes(name);
      expect(events(name)).toEqual(
        SERVICES[name].publishes.map((type) => `blog.${type}.${keyed.includes(type) ? '*' : '_'}`),
      );
    }
    expect(events('comments')).toContain('blog.CommentCreated.*');
    expect(events('posts')).toContain('blog.PostCreated._');
  });

  it('lets the views read state and the notices of parked events, and change nothing', () => {
    const { publish, subscribe } = natsPermissions('views');

    expect(publish.allow).toEqual([
      '$JS.API.STREAM.INFO.BLOG',
      '$JS.API.STREAM.INFO.BLOG_PARKED',
      '$JS.API.STREAM.MSG.GET.BLOG',
      '$JS.API.STREAM.MSG.GET.BLOG_PARKED',
      '$JS.API.CONSUMER.LIST.BLOG',
    ]);
    expect(subscribe.allow).toEqual(['_INBOX_views.>']);
  });
});

describe('natsNodeConfig', () => {
  const ports = [1, 2, 3].map((n) => ({ client: 4000 + n, cluster: 5000 + n, monitor: 6000 + n }));

  it('routes each node of a cluster to the two others, on loopback', () => {
    const config = JSON.parse(
      natsNodeConfig({
        index: 1,
        ports,
        storeDir: '/data/nats-1',
        passwords: PASSWORDS,
        routePassword: ROUTE_PASSWORD,
      }),
    );

    expect(config.listen).toBe('127.0.0.1:4002');
    expect(config.cluster).toEqual({
      name: 'mini-blog',
      listen: '127.0.0.1:5002',
      authorization: { user: 'route', password: ROUTE_PASSWORD, timeout: 2 },
      routes: [
        `nats-route://route:${ROUTE_PASSWORD}@127.0.0.1:5001`,
        `nats-route://route:${ROUTE_PASSWORD}@127.0.0.1:5003`,
      ],
    });
    expect(config.jetstream).toEqual({ store_dir: '/data/nats-1' });
  });

  it('lets each service publish only the event subjects the registry says it publishes', () => {
    const config = JSON.parse(
      natsNodeConfig({ index: 0, ports: ports.slice(0, 1), storeDir: '/data', passwords: PASSWORDS }),
    );
    const users: { user: string; password: string; permissions: { publish: { allow: string[] } } }[] =
      config.accounts.BLOG.users;

    for (const name of SERVICES_WITH_USERS) {
      const user = users.find((candidate) => candidate.user === name);
      expect(user?.password).toBe(PASSWORDS[name]);
      const events = user!.permissions.publish.allow.filter((subject) => subject.startsWith('blog.'));
      expect(events).toEqual(
        SERVICES[name].publishes.map((type) => (keyedTypes(name).includes(type) ? `blog.${type}.*` : `blog.${type}._`)),
      );
    }
    expect(config.cluster).toBeUndefined();
  });

  it('refuses to write a cluster without the route credential', () => {
    expect(() => natsNodeConfig({ index: 0, ports, storeDir: '/data', passwords: PASSWORDS })).toThrow(
      'nats: a cluster needs the route credential',
    );
  });

  it('refuses to write a user without a password', () => {
    const { query: _query, ...others } = PASSWORDS;
    expect(() =>
      natsNodeConfig({ index: 0, ports, storeDir: '/data', passwords: others, routePassword: ROUTE_PASSWORD }),
    ).toThrow('nats: no password for query');
  });
});
