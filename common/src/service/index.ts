// The service kit: what every service process is built from (its HTTP app, config, errors,
// validation, logging, bearer auth, idempotency, server-sent events, trace routes) and the runtime of
// an event-driven service (the consumer engine and `startEventService`).
export * from './bearer-auth';
export * from './client-address';
export * from './comma-list';
export * from './config';
export * from './consumer';
export * from './errors';
export * from './free-port';
export * from './http-app';
export * from './idempotency';
export * from './json-depth';
export * from './logger';
export * from './rate-limit';
export * from './run-service';
export * from './span-relay';
export * from './sse';
export * from './start-event-service';
export * from './trace-routes';
export * from './validation';
export * from './write-chunk';
