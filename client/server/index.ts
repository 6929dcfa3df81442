import { createLogger, readOrExit, runService } from '@mini-blog/common/service';
import { createApp } from './app';
import { loadServerConfig } from './config';

const config = readOrExit('client', () => loadServerConfig());
const logger = createLogger('client', config.LOG_LEVEL);
void runService({
  app: createApp({ staticDir: config.STATIC_DIR, logger }),
  port: config.PORT,
  host: config.HOST,
  logger,
});
