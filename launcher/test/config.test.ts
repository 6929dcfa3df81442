import { formatSubscriber, parseSubscribers } from '@mini-blog/common/transport/http';
import { loadLauncherConfig } from '../src/config';
import { describeDelivery } from '../src/extra-subscribers';

describe('loadLauncherConfig', () => {
  it('serves the gateway on 127.0.0.1:8080 with the data in ./data unless told otherwise', () => {
    expect(loadLauncherConfig({})).toEqual({ PORT: 8080, HOST: '127.0.0.1', DATA_DIR: 'data', EXTRA_SUBSCRIBERS: [] });
  });

  it('shares the gateway on the network when HOST says so', () => {
    expect(loadLauncherConfig({ HOST: '0.0.0.0', PORT: '3080' })).toMatchObject({ HOST: '0.0.0.0', PORT: 3080 });
  });

  it('names the setting and its rule when one is wrong', () => {
    expect(() => loadLauncherConfig({ HOST: 'http://0.0.0.0', PORT: '80000' })).toThrow(
      'invalid configuration: PORT: must be at most 65535; HOST: must be an IP address or a host name',
    );
  });

  describe('EXTRA_SUBSCRIBERS', () => {
    it('reads course services in the bus format, one event per request unless `batch`', () => {
      const { EXTRA_SUBSCRIBERS } = loadLauncherConfig({
        EXTRA_SUBSCRIBERS:
          'course-query=http://localhost:4102/events|types=PostCreated+CommentUpdated, mine=http://h:1/events|batch',
      });

      expect(EXTRA_SUBSCRIBERS).toEqual([
        {
          name: 'course-query',
          url: 'http://localhost:4102/events',
          types: ['PostCreated', 'CommentUpdated'],
          batch: false,
          mode: 'park',
        },
        { name: 'mine', url: 'http://h:1/events', types: null, batch: true, mode: 'park' },
      ]);
      expect(describeDelivery(EXTRA_SUBSCRIBERS[0]!)).toBe(
        'one event per POST; PostCreated, CommentUpdated; an event it rejects is parked',
      );
    });

    it.each(['query', 'admin', 'event-bus'])('refuses the name %s, which the system uses', (name) => {
      expect(() => loadLauncherConfig({ EXTRA_SUBSCRIBERS: `${name}=http://localhost:1/events` })).toThrow(
        `invalid configuration: EXTRA_SUBSCRIBERS: "${name}": is a name of the system's own`,
      );
    });

    it('names the entry and the rule when one is wrong', () => {
      expect(() => loadLauncherConfig({ EXTRA_SUBSCRIBERS: 'course=ftp://x/events' })).toThrow(
        'EXTRA_SUBSCRIBERS: "course": ftp://x/events must be an http(s) URL',
      );
    });

    it('is written back in the form the bus reads', () => {
      const value = 'a=http://x/events|types=PostCreated|batch|mode=block,b=http://y/events';
      expect(parseSubscribers(value).map(formatSubscriber).join(',')).toBe(value);
    });
  });
});
