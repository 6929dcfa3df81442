// Loaded before anything else: OpenTelemetry's instrumentations patch http and express as they are first required.
import { startTracing } from '@mini-blog/common/tracing';

startTracing({ service: 'comments', role: 'service' });
