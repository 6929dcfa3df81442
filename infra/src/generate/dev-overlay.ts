import { SERVICE_NAMES, type ServiceName } from '@mini-blog/common/registry';
import { handWrittenWorkload, type WorkloadRef } from './hand-written';
import { VIEWS_FILE, VIEWS_POD } from './jetstream';
import { CONTAINER_SECURITY, eventServices, workloadKind } from './services';
import { APP_DIR, syncSources } from './skaffold';
import { flow, noted, yamlText, type YamlDocument } from './yaml-file';

/** The emptyDir that holds a dev container's synced folders, and where the seeding container mounts it. */
export const SOURCES_VOLUME = 'sources';
const SEED_DIR = '/sources';

/** The processes whose manifests are written by hand, by name: the file each is in. */
const HAND_WRITTEN: Partial<Record<ServiceName, string>> = {
  'event-bus': 'infra/k8s/event-bus.yaml',
  client: 'infra/k8s/client.yaml',
};

/** Every process's workload in infra/k8s: the generated ones as the generator makes them, the others as their file says. */
function processWorkloads(): WorkloadRef[] {
  const generated = eventServices();
  return SERVICE_NAMES.map((name) => {
    if (generated.includes(name))
      return { kind: workloadKind(name), name, container: name, image: `mini-blog/${name}` };
    const file = HAND_WRITTEN[name];
    if (!file) throw new Error(`${name}: neither generated nor in HAND_WRITTEN (infra/src/generate/dev-overlay.ts)`);
    return handWrittenWorkload(file, name);
  });
}

/**
 * The top folders the sync rules of an image's artifact write into under APP_DIR: its workspace
 * and common. Each is a whole workspace folder, so that what the watchers write beside the sources
 * (tsc's dist/, Vite's cache in client/node_modules) is writable too.
 */
export function syncedFolders(image: string): string[] {
  const name = SERVICE_NAMES.find((candidate) => `mini-blog/${candidate}` === image);
  if (!name) throw new Error(`${image}: no process of the registry is built as this image`);
  return [...new Set(syncSources(name).map((source) => source.split('/')[0] as string))];
}

/**
 * The patch that keeps a dev container's root filesystem read-only while skaffold's sync and the
 * watchers write: an emptyDir mounted over each synced folder (a subPath each), which an init
 * container of the same image first fills with the image's own copy of those folders. `cp -a` keeps
 * the files' modes and times, so tsc -b finds its output up to date and does not compile again.
 */
function writableSourcesPatch(workload: WorkloadRef) {
  const folders = syncedFolders(workload.image);
  const value = {
    apiVersion: 'apps/v1',
    kind: workload.kind,
    metadata: { name: workload.name },
    spec: {
      template: {
        spec: {
          initContainers: [
            {
              name: 'seed-sources',
              image: workload.image,
              imagePullPolicy: 'IfNotPresent',
              command: flow(['cp', '-a', ...folders.map((folder) => `${APP_DIR}/${folder}`), `${SEED_DIR}/`]),
              volumeMounts: [{ name: SOURCES_VOLUME, mountPath: SEED_DIR }],
              resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { cpu: '500m', memory: '64Mi' } },
              securityContext: CONTAINER_SECURITY,
            },
          ],
          containers: [
            {
              name: workload.container,
              volumeMounts: folders.map((folder) => ({
                name: SOURCES_VOLUME,
                mountPath: `${APP_DIR}/${folder}`,
                subPath: folder,
              })),
            },
          ],
          volumes: [{ name: SOURCES_VOLUME, emptyDir: { sizeLimit: '256Mi' } }],
        },
      },
    },
  };
  return { patch: yamlText([{ value }]).trimEnd() };
}

/** infra/k8s-dev/kustomization.yaml: what `skaffold dev` deploys. */
export function devKustomization(): YamlDocument[] {
  return [
    {
      comment: `What \`skaffold dev\` deploys: the production manifests with the changes the dev images need.
Their containers run the compiler and Vite in watch mode, which need more memory, and skaffold
copies changed sources into them. The root filesystem stays read-only: each folder the sync writes
into (the image's workspace and common) is an emptyDir that an init container fills from the image
before the watcher starts (docs/kubernetes.md, "The dev loop on a read-only root filesystem").`,
      value: {
        apiVersion: 'kustomize.config.k8s.io/v1beta1',
        kind: 'Kustomization',
        resources: ['../k8s'],
        patches: [
          {
            target: { group: 'apps', kind: 'Deployment|StatefulSet' },
            patch: yamlText([
              {
                value: [
                  { op: 'replace', path: '/spec/template/spec/containers/0/resources/limits/memory', value: '1Gi' },
                ],
              },
            ]).trimEnd(),
          },
          ...processWorkloads().map(writableSourcesPatch),
        ],
      },
    },
  ];
}

/** infra/k8s-jetstream/dev/kustomization.yaml: what `skaffold dev -p jetstream` deploys. */
export function jetstreamDevKustomization(): YamlDocument[] {
  return [
    {
      comment: 'What `skaffold dev -p jetstream` deploys: the dev overlay (infra/k8s-dev) on NATS JetStream.',
      value: {
        apiVersion: 'kustomize.config.k8s.io/v1beta1',
        kind: 'Kustomization',
        resources: ['../../k8s-dev'],
        components: ['../transport'],
        patches: noted(
          "The views run from a service's image, so skaffold syncs that service's sources into them as\nwell: they get the same writable folders, or the sync would fail on their read-only filesystem.",
          [writableSourcesPatch(handWrittenWorkload(VIEWS_FILE, VIEWS_POD))],
        ),
      },
    },
  ];
}
