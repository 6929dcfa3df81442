import './instrumentation';
import { readOrExit, startEventService } from '@mini-blog/common/service';
import { createApp } from './app';
import { liveOptionsFrom, postCacheFrom, readConfig } from './config';

const config = readOrExit('query', readConfig);
void startEventService({
  name: 'query',
  config: () => config,
  create: (deps) => createApp({ ...deps, live: liveOptionsFrom(config), cache: postCacheFrom(config) }),
});
