export * from './system';
export { createGateway, type RouteFor } from './gateway';
export { ensureCredentials } from './credentials';
export { freePort } from './ports';
export { ingressRouter } from './manifests';
export * from './nats';
export { ServiceProcess } from './supervisor';
export { startTemporarySystem, type TemporarySystem } from './temporary-system';
