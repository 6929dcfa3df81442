// Loaded before anything else, as every process's tracing is.
import { startTracing } from '@mini-blog/common/tracing';

// The gateway's hops are spans made by hand (startProxyHop): its proxy and its readiness checks are not instrumented.
startTracing({ service: 'gateway', role: 'gateway' });
