import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';

/** The repository root, from this package's src/generate/ or dist/generate/. */
export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');

/** A workload as a patch needs it: its kind and name, and its first container's name and image. */
export interface WorkloadRef {
  readonly kind: string;
  readonly name: string;
  readonly container: string;
  readonly image: string;
}

/**
 * A workload of a manifest written by hand (the bus, the client, JetStream's views), as that file
 * has it: the file stays the one place that says what it runs.
 */
export function handWrittenWorkload(file: string, name: string): WorkloadRef {
  const objects = parseAllDocuments(readFileSync(path.join(REPO_ROOT, file), 'utf8')).map(
    (document) =>
      document.toJS() as {
        kind: string;
        metadata: { name: string };
        spec?: { template?: { spec?: { containers?: { name: string; image: string }[] } } };
      },
  );
  const workload = objects.find(
    (object) => ['Deployment', 'StatefulSet'].includes(object.kind) && object.metadata.name === name,
  );
  const container = workload?.spec?.template?.spec?.containers?.[0];
  if (!workload || !container) throw new Error(`${file}: no Deployment or StatefulSet ${name} with a container`);
  return { kind: workload.kind, name, container: container.name, image: container.image };
}
