import './instrumentation';
import { readOrExit, startEventService } from '@mini-blog/common/service';
import { createApp } from './app';
import { readConfig } from './config';

const config = readOrExit('moderation', readConfig);
void startEventService({
  name: 'moderation',
  config: () => config,
  create: (deps) => createApp({ ...deps, blockedWords: config.BLOCKED_WORDS }),
});
