import { spawnSync } from 'node:child_process';
import { parseAllDocuments } from 'yaml';
import type { K8sObject } from './repository';

// kubectl is no dependency of the project; where it is installed (the build machines have it), the
// real renderer checks the kustomizations too, overlays and components included.
export const hasKubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status === 0;

/** The objects `kubectl kustomize <dir>` renders. */
export function kubectlKustomize(dir: string): K8sObject[] {
  const result = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`kubectl kustomize ${dir}: ${result.stderr}`);
  return parseAllDocuments(result.stdout).map((document) => document.toJS() as K8sObject);
}
