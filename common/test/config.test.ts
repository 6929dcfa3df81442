import { z } from 'zod';
import { ConfigError, baseConfigSchema, busConfigSchema, loadConfig, portWithDefault } from '../src/service/config';

const serviceSchema = busConfigSchema.extend(portWithDefault(4000));

/** The ConfigError loadConfig throws for an env. */
function configErrorFor(schema: z.ZodType, env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(schema, env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('applies the defaults for an empty env', () => {
    expect(loadConfig(serviceSchema, {})).toEqual({
      PORT: 4000,
      HOST: '0.0.0.0',
      LOG_LEVEL: 'info',
      BUS_TRANSPORT: 'http',
      BUS_URL: 'http://localhost:4005',
      CORS_ORIGINS: ['http://localhost:3000', 'http://localhost:4007', 'http://localhost:5173'],
      FAULT_SWITCHES: false,
      TRUSTED_PROXIES: [],
    });
  });

  it('reads the env, with PORT as a number', () => {
    const config = loadConfig(serviceSchema, {
      PORT: '5000',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'debug',
      BUS_URL: 'http://event-bus-srv:4005',
    });

    expect(config).toMatchObject({
      PORT: 5000,
      HOST: '127.0.0.1',
      LOG_LEVEL: 'debug',
      BUS_TRANSPORT: 'http',
      BUS_URL: 'http://event-bus-srv:4005',
    });
  });

  it('accepts port 0 (a free port, for tests)', () => {
    expect(loadConfig(serviceSchema, { PORT: '0' }).PORT).toBe(0);
  });

  it('ignores env variables it does not know', () => {
    expect(loadConfig(serviceSchema, { HOME: '/root' })).not.toHaveProperty('HOME');
  });

  it.each(['abc', '-1', '70000', '80.5', '', ' ', '1e3', '0x50'])(
    'fails with a ConfigError naming PORT for PORT=%j',
    (port) => {
      const error = configErrorFor(serviceSchema, { PORT: port });

      expect(error.name).toBe('ConfigError');
      expect(error.message).toMatch(/^invalid configuration: PORT: /);
    },
  );

  it('says which rule a wrong PORT breaks', () => {
    expect(configErrorFor(serviceSchema, { PORT: '70000' }).message).toBe(
      'invalid configuration: PORT: must be at most 65535',
    );
  });

  it('says PORT is required when a service has no default', () => {
    expect(configErrorFor(baseConfigSchema, {}).message).toBe('invalid configuration: PORT: is required');
  });

  it.each(['127.0.0.1', '0.0.0.0', '::', '::1', 'localhost', 'blog.example'])('listens on HOST=%s', (host) => {
    expect(loadConfig(serviceSchema, { HOST: host }).HOST).toBe(host);
  });

  it.each(['', 'http://localhost', '127.0.0.1:80', 'a b'])('names HOST and its rule for HOST=%j', (host) => {
    expect(configErrorFor(serviceSchema, { HOST: host }).message).toBe(
      'invalid configuration: HOST: must be an IP address or a host name',
    );
  });

  it('names LOG_LEVEL when it is not a pino level', () => {
    expect(configErrorFor(serviceSchema, { LOG_LEVEL: 'verbose' }).message).toMatch(
      /^invalid configuration: LOG_LEVEL: /,
    );
  });

  it('names BUS_URL when it is not a URL', () => {
    expect(configErrorFor(serviceSchema, { BUS_URL: 'event-bus' }).message).toMatch(
      /^invalid configuration: BUS_URL: /,
    );
  });

  it('names every wrong variable at once', () => {
    const { message } = configErrorFor(serviceSchema, { PORT: 'abc', BUS_URL: 'event-bus' });

    expect(message).toContain('PORT: ');
    expect(message).toContain('BUS_URL: ');
  });

  it('lets a service add its own variables with their defaults', () => {
    const schema = serviceSchema.extend({ BLOCKED_WORDS: z.string().default('orange') });

    expect(loadConfig(schema, {}).BLOCKED_WORDS).toBe('orange');
  });
});

describe('CORS_ORIGINS', () => {
  const origins = (value?: string) =>
    loadConfig(serviceSchema, value === undefined ? {} : { CORS_ORIGINS: value }).CORS_ORIGINS;

  it('allows the local dev origins by default, and nothing else', () => {
    expect(origins()).toEqual(['http://localhost:3000', 'http://localhost:4007', 'http://localhost:5173']);
  });

  it('reads a comma-separated list, and an empty one as no cross-origin access', () => {
    expect(origins(' https://blog.example , http://localhost:8080 ')).toEqual([
      'https://blog.example',
      'http://localhost:8080',
    ]);
    expect(origins('')).toEqual([]);
  });

  it.each([
    '*',
    'localhost:3000',
    'http://localhost:3000/',
    'http://localhost:3000/app',
    'file:///tmp',
    'http://user@localhost:3000',
  ])('refuses %s, naming the variable and the rule', (value) => {
    expect(() => origins(value)).toThrow(
      'CORS_ORIGINS.0: must list origins such as http://localhost:3000 (scheme, host and port only)',
    );
  });
});
