// Test helpers shared by every workspace's tests; not used by any service at run time.
export * from './memory-bus';
export * from './wait-for';
export * from './fake-exchange';
export * from './hostile-input';
export * from './hostile-suite';
export * from './signed-delivery';
export * from './nats-server';
export * from './cors';
export * from './subscription-status';
export * from './comment-trace';
export * from './projection';
export * from './projection-check';
export * from './otlp-receiver';
