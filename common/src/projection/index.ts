export * from './types';
export * from './store';
export * from './open';
export * from './projection';
export * from './in-memory';
export * from './rebuild';
