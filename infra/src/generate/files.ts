import path from 'node:path';
import { gatewayDocuments } from './gateway-api';
import { ingressDocuments } from './ingress';
import { yamlText, type YamlDocument } from './yaml-file';

/** The repository root, from this package's src/generate/ or dist/generate/. */
export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');

const HEADER = `Generated from common/src/registry.ts by \`npm run generate\` (infra/src/generate/): do not
edit. infra/test/generated.test.ts fails when this file is not what the registry makes.`;

/** Every generated file, by its path from the repository root, as its documents. */
export function generatedDocuments(): Record<string, readonly YamlDocument[]> {
  return {
    'infra/k8s/ingress.yaml': ingressDocuments(),
    'infra/k8s-gateway-api/routes/gateway.yaml': gatewayDocuments(),
  };
}

/** Every generated file's text (already as Prettier formats it: `npm run lint` checks them too). */
export function generatedFiles(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(generatedDocuments()).map(([file, documents]) => [file, yamlText(documents, HEADER)]),
  );
}
