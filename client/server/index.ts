import { createLogger, createSpanRelay, ProxyTrust, readOrExit, runService } from '@mini-blog/common/service';
import { createApp } from './app';
import { loadServerConfig } from './config';

const config = readOrExit('client', () => loadServerConfig());
const logger = createLogger('client', config.LOG_LEVEL);
const proxies = new ProxyTrust(config.TRUSTED_PROXIES);
// The browser's spans go on to the OTLP endpoint the SDK reads from OTEL_EXPORTER_OTLP_*, if one is set.
const spanRelay = createSpanRelay({ proxies, logger, exportsPerMinute: config.SPAN_EXPORTS_PER_MINUTE });
void runService({
  app: createApp({ staticDir: config.STATIC_DIR, logger, spanRelay }),
  port: config.PORT,
  host: config.HOST,
  logger,
  proxies,
  onShutdown: () => spanRelay.shutdown(),
});
