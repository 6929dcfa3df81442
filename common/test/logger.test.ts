import { createLogger, silentLogger } from '../src/service/logger';

describe('createLogger', () => {
  it('tags every record with the service name', () => {
    const logger = createLogger('posts', 'debug');

    expect(logger.bindings()).toMatchObject({ service: 'posts' });
    expect(logger.level).toBe('debug');
  });

  it('writes each record as one JSON line to the destination it is given', () => {
    const lines: string[] = [];
    const logger = createLogger('gateway', 'info', { write: (line: string) => void lines.push(line) });

    logger.info({ port: 8080 }, 'listening');
    logger.debug('not at this level');

    expect(lines.map((line) => JSON.parse(line) as unknown)).toEqual([
      expect.objectContaining({ service: 'gateway', msg: 'listening', port: 8080 }),
    ]);
  });
});

describe('silentLogger', () => {
  it('writes nothing', () => {
    expect(silentLogger().level).toBe('silent');
  });
});
