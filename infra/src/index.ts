export {
  createIngressRouter,
  IngressManifestError,
  K8S_DIR,
  loadIngressRoutes,
  normalizePath,
  routesFromManifests,
  type IngressRoute,
  type IngressRouter,
  type PathRouter,
} from './ingress-routes';
export {
  MAX_REQUEST_LINE_BYTES,
  normalizeRequestTarget,
  RequestTargetError,
  type NormalizedTarget,
} from './request-target';
export {
  createGatewayRouter,
  GATEWAY_ROUTES_FILE,
  GatewayManifestError,
  gatewayRoutesFromManifests,
  loadGatewayRoutes,
  type GatewayRoute,
  type GatewayRouter,
  type PathMatchType,
} from './gateway-routes';
export { ingressDocuments } from './generate/ingress';
export { gatewayDocuments, pathMatch } from './generate/gateway-api';
export { generatedDocuments, generatedFiles } from './generate/files';
