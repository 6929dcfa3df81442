// Loaded before anything else: OpenTelemetry's instrumentations patch http and express as they are first required.
import { startTracing } from '@mini-blog/common/tracing';

// Publishes come traced from the services; deliveries are traced by each consumer, event by event.
startTracing({ service: 'event-bus', role: 'bus' });
