export * from './system';
export { createGateway, type RouteFor } from './gateway';
export { freePort } from './ports';
export { ServiceProcess } from './supervisor';
export { ensureCredentials } from './credentials';
export { startTemporarySystem, type TemporarySystem } from './temporary-system';
