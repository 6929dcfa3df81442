// Tracing with OpenTelemetry: the setup each process's instrumentation.ts runs first, and the spans of
// events and proxy hops. No web framework here (the trace routes are the service kit's), so that
// importing it before anything else patches http and express as they are first required.
export * from './event-spans';
export * from './recent-spans';
export * from './setup';
