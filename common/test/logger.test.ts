import { createLogger, silentLogger } from '../src/service/logger';

describe('createLogger', () => {
  it('tags every record with the service name', () => {
    const logger = createLogger('posts', 'debug');

    expect(logger.bindings()).toMatchObject({ service: 'posts' });
    expect(logger.level).toBe('debug');
  });
});

describe('silentLogger', () => {
  it('writes nothing', () => {
    expect(silentLogger().level).toBe('silent');
  });
});
