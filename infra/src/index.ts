export {
  createIngressRouter,
  IngressManifestError,
  K8S_DIR,
  loadIngressRoutes,
  normalizePath,
  routesFromManifests,
  type IngressRoute,
  type IngressRouter,
} from './ingress-routes';
