// The browser-safe part of common: schemas and types only, nothing that needs Node.
export * from './catalog';
export * from './envelope';
export * from './operations';
export * from './public-views';
export * from './user-text';
