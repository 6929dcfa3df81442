import {
  deliveredTypes,
  keyedTypes,
  mayPublishKey,
  PUBLISHER_NAMES,
  publicRoutes,
  publishAclSetting,
  SERVICES,
  SUBSCRIBER_NAMES,
  subscribersSetting,
  type ServiceEntry,
  type ServiceName,
} from '../src/registry';

describe('subscribersSetting', () => {
  it('lists every subscriber at its URL with the types it is delivered live, in batches', () => {
    const setting = subscribersSetting((name) => `http://${name}.test/events`);

    expect(setting.split(',')).toEqual(
      SUBSCRIBER_NAMES.map(
        (name) => `${name}=http://${name}.test/events|types=${deliveredTypes(name).join('+')}|batch`,
      ),
    );
    expect(setting).toContain('moderation=http://moderation.test/events|types=CommentCreated|batch');
  });
});

describe('publishAclSetting', () => {
  it('gives each publisher exactly the types it publishes, as principal=Type+Type entries', () => {
    const entries = publishAclSetting()
      .split(',')
      .map((entry) => entry.split('='));

    expect(entries.map(([name]) => name)).toEqual(PUBLISHER_NAMES);
    for (const [name, types] of entries) expect(types?.split('+')).toEqual(SERVICES[name as ServiceName].publishes);
    expect(publishAclSetting()).toMatch(/(^|,)comments=CommentCreated\+CommentUpdated(,|$)/);
  });
});

describe('key ownership', () => {
  const owned = PUBLISHER_NAMES.flatMap((name) =>
    keyedTypes(name).map((type) => ({ name, type, prefix: (SERVICES[name] as ServiceEntry).keys[type]! })),
  );

  it('gives every key prefix one owner, on a type it publishes and no other principal publishes', () => {
    for (const { name, type, prefix } of owned) {
      expect(SERVICES[name].publishes as readonly string[]).toContain(type);
      const others = owned.filter((other) => other.name !== name);
      expect(others.filter((other) => other.prefix.startsWith(prefix) || prefix.startsWith(other.prefix))).toEqual([]);
      expect(
        PUBLISHER_NAMES.filter(
          (other) => other !== name && (SERVICES[other].publishes as readonly string[]).includes(type),
        ),
      ).toEqual([]);
    }
    expect(owned.map(({ name, type, prefix }) => `${name}:${type}:${prefix}`)).toEqual([
      'comments:CommentCreated:comments:',
    ]);
  });

  it.each([
    ['comments', 'CommentCreated', 'comments:p1', true],
    ['comments', 'CommentCreated', undefined, true],
    ['comments', 'CommentCreated', 'comments:', false],
    ['comments', 'CommentCreated', 'posts:p1', false],
    ['comments', 'CommentUpdated', 'comments:p1', false],
    ['posts', 'PostCreated', 'comments:p1', false],
    ['posts', 'PostCreated', undefined, true],
    ['moderation', 'CommentModerated', 'comments:p1', false],
  ] as const)('%s publishing %s under %s: %s', (name, type, key, allowed) => {
    expect(mayPublishKey(name, type, key)).toBe(allowed);
  });
});

describe('publicRoutes', () => {
  const entry = (routes: ServiceEntry['routes'], viewsPort?: number): ServiceEntry => ({
    port: 4100,
    ...(viewsPort === undefined ? {} : { viewsPort }),
    script: 'x/dist/index.js',
    publishes: [],
    reactions: [],
    handles: [],
    keys: {},
    routes,
  });

  it("gives each route its service and port, a service's views port when it has one", () => {
    expect(publicRoutes({ a: entry([{ path: '/a' }]), b: entry([{ path: '/b', stream: true }], 4101) })).toEqual([
      { path: '/a', service: 'a', port: 4100 },
      { path: '/b', stream: true, service: 'b', port: 4101 },
    ]);
  });

  it('refuses a path that two services declare, in any letter case, naming both', () => {
    expect(() => publicRoutes({ a: entry([{ path: '/a' }]), b: entry([{ path: '/A' }]) })).toThrow(
      'registry: the path /A of b is declared by a too',
    );
  });

  it('accepts the registry: no public path is declared twice', () => {
    expect(() => publicRoutes()).not.toThrow();
  });
});
