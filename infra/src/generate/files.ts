import { configDocuments } from './config-map';
import { devKustomization, jetstreamDevKustomization } from './dev-overlay';
import { gatewayDocuments } from './gateway-api';
import { ingressDocuments } from './ingress';
import {
  disruptionBudgetDocuments,
  jetstreamServicesDocuments,
  natsConfigDocuments,
  natsPasswordsDocuments,
} from './jetstream';
import { gatewayKustomization, k8sKustomization } from './kustomizations';
import { networkPolicyDocuments } from './network-policies';
import { eventServices, serviceDocuments } from './services';
import { scriptsRegistryDocuments } from './scripts';
import { skaffoldDocuments } from './skaffold';
import { yamlText, type YamlDocument } from './yaml-file';

const HEADER = `Generated from common/src/registry.ts by \`npm run generate\` (infra/src/generate/): do not
edit. infra/test/generated.test.ts fails when this file is not what the registry makes.`;

/** Every generated file, by its path from the repository root, as its documents. */
export function generatedDocuments(): Record<string, readonly YamlDocument[]> {
  return {
    'infra/k8s/kustomization.yaml': k8sKustomization(),
    'infra/k8s/config.yaml': configDocuments(),
    ...Object.fromEntries(eventServices().map((name) => [`infra/k8s/${name}.yaml`, serviceDocuments(name)])),
    'infra/k8s/ingress.yaml': ingressDocuments(),
    'infra/k8s/network-policy.yaml': networkPolicyDocuments(),
    'infra/k8s-dev/kustomization.yaml': devKustomization(),
    'infra/k8s-gateway-api/routes/gateway.yaml': gatewayDocuments(),
    'infra/k8s-gateway-api/routes/kustomization.yaml': gatewayKustomization(),
    'infra/k8s-jetstream/transport/services.yaml': jetstreamServicesDocuments(),
    'infra/k8s-jetstream/transport/disruption-budgets.yaml': disruptionBudgetDocuments(),
    'infra/k8s-jetstream/transport/nats-config.yaml': natsConfigDocuments(),
    'infra/k8s-jetstream/transport/nats-passwords.yaml': natsPasswordsDocuments(),
    'infra/k8s-jetstream/dev/kustomization.yaml': jetstreamDevKustomization(),
    'infra/scripts/registry.yaml': scriptsRegistryDocuments(),
    'skaffold.yaml': skaffoldDocuments(),
  };
}

/** Every generated file's text (already as Prettier formats it: `npm run lint` checks them too). */
export function generatedFiles(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(generatedDocuments()).map(([file, documents]) => [file, yamlText(documents, HEADER)]),
  );
}
