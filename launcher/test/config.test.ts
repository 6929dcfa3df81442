import { loadLauncherConfig } from '../src/config';

describe('loadLauncherConfig', () => {
  it('serves the gateway on 127.0.0.1:8080 with the data in ./data unless told otherwise', () => {
    expect(loadLauncherConfig({})).toEqual({ PORT: 8080, HOST: '127.0.0.1', DATA_DIR: 'data' });
  });

  it('shares the gateway on the network when HOST says so', () => {
    expect(loadLauncherConfig({ HOST: '0.0.0.0', PORT: '3080' })).toMatchObject({ HOST: '0.0.0.0', PORT: 3080 });
  });

  it('names the setting and its rule when one is wrong', () => {
    expect(() => loadLauncherConfig({ HOST: 'http://0.0.0.0', PORT: '80000' })).toThrow(
      'invalid configuration: PORT: must be at most 65535; HOST: must be an IP address or a host name',
    );
  });
});
