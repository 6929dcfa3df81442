import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';

/** The repository root: the build context of every image and the working folder of skaffold. */
export const ROOT = path.resolve(__dirname, '..', '..', '..');
export const K8S = path.join(ROOT, 'infra', 'k8s');
export const K8S_DEV = path.join(ROOT, 'infra', 'k8s-dev');

export function readText(relativePath: string): string {
  return readFileSync(path.join(ROOT, relativePath), 'utf8');
}

/**
 * The npm workspaces of the repository: the folders the root package.json's patterns match (a `*`
 * stands for any name within one path segment, as in npm) that hold a package.json.
 */
export function workspaceFolders(): string[] {
  const patterns = (JSON.parse(readText('package.json')) as { workspaces: string[] }).workspaces;
  return patterns
    .flatMap((pattern) => expand(pattern.split('/'), ''))
    .filter((folder) => existsInRepo(`${folder}/package.json`));
}

function expand(segments: readonly string[], base: string): string[] {
  const [segment, ...rest] = segments;
  if (segment === undefined) return [base];
  const names = segment.includes('*')
    ? readdirSync(path.join(ROOT, base), { withFileTypes: true })
        .filter(
          (entry) =>
            entry.isDirectory() &&
            entry.name !== 'node_modules' &&
            new RegExp(`^${segment.split('*').map(escapeRegExp).join('[^/]*')}$`).test(entry.name),
        )
        .map((entry) => entry.name)
    : [segment];
  return names.flatMap((name) => expand(rest, base ? `${base}/${name}` : name));
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export function existsInRepo(relativePath: string): boolean {
  return existsSync(path.join(ROOT, relativePath));
}

export function readYamlDocuments(file: string): unknown[] {
  return parseAllDocuments(readFileSync(file, 'utf8')).map((document) => {
    if (document.errors.length > 0) throw new Error(`${file}: ${document.errors[0]?.message}`);
    return document.toJS() as unknown;
  });
}

/** The parts of Kubernetes objects these checks read; the schemas check the rest. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  data?: Record<string, string>;
  spec?: Record<string, unknown>;
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    configMapKeyRef?: { name: string; key: string; optional?: boolean };
    secretKeyRef?: { name: string; key: string; optional?: boolean };
  };
}

export interface Probe {
  httpGet?: { path: string; port: number | string };
}

export interface Container {
  name: string;
  image: string;
  command?: string[];
  ports?: { name?: string; containerPort: number }[];
  env?: EnvVar[];
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: {
    allowPrivilegeEscalation?: boolean;
    readOnlyRootFilesystem?: boolean;
    runAsNonRoot?: boolean;
    capabilities?: { drop?: string[] };
  };
  volumeMounts?: VolumeMount[];
}

export interface VolumeMount {
  name: string;
  mountPath: string;
  subPath?: string;
  readOnly?: boolean;
}

export interface Volume {
  name: string;
  secret?: { secretName: string; defaultMode?: number; items?: { key: string; path: string }[] };
  emptyDir?: { medium?: string; sizeLimit?: string };
  persistentVolumeClaim?: { claimName: string };
}

export interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  volumes?: Volume[];
  terminationGracePeriodSeconds?: number;
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number; runAsGroup?: number; fsGroup?: number };
}

/** A Deployment or StatefulSet, reduced to what the cross-checks compare. */
export interface Workload {
  kind: string;
  name: string;
  podLabels: Record<string, string>;
  pod: PodSpec;
  /** The names of a StatefulSet's volumeClaimTemplates: a volume of that name is claimed for each pod. */
  claims: string[];
}

export interface ServicePort {
  name?: string;
  port: number;
  targetPort?: number | string;
}

/**
 * The objects of a kustomization whose resources are plain files, as `kubectl kustomize` renders
 * them; anything a plain list of files cannot express is refused, so this never renders wrong.
 */
export function loadKustomization(dir: string): K8sObject[] {
  const kustomization = parse(readFileSync(path.join(dir, 'kustomization.yaml'), 'utf8')) as Record<string, unknown>;
  const { resources, ...rest } = kustomization;
  const extra = Object.keys(rest).filter((key) => key !== 'apiVersion' && key !== 'kind');
  if (extra.length > 0)
    throw new Error(`${dir}/kustomization.yaml: ${extra.join(', ')} is more than a list of resources`);
  return (resources as string[]).flatMap((resource) => readYamlDocuments(path.join(dir, resource)) as K8sObject[]);
}

export function workloadsOf(objects: readonly K8sObject[]): Workload[] {
  return objects
    .filter((object) => object.kind === 'Deployment' || object.kind === 'StatefulSet')
    .map((object) => {
      const template = object.spec?.template as { metadata: { labels: Record<string, string> }; spec: PodSpec };
      const claims = (object.spec?.volumeClaimTemplates ?? []) as { metadata: { name: string } }[];
      return {
        kind: object.kind,
        name: object.metadata.name,
        podLabels: template.metadata.labels,
        pod: template.spec,
        claims: claims.map((claim) => claim.metadata.name),
      };
    });
}

export function servicesOf(
  objects: readonly K8sObject[],
): { name: string; selector: Record<string, string>; ports: ServicePort[] }[] {
  return objects
    .filter((object) => object.kind === 'Service')
    .map((object) => {
      const spec = object.spec as { selector: Record<string, string>; ports: ServicePort[] };
      return { name: object.metadata.name, selector: spec.selector, ports: spec.ports };
    });
}

export function selects(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.entries(selector).every(([key, value]) => labels[key] === value);
}

export interface SkaffoldArtifact {
  image: string;
  context?: string;
  docker?: { dockerfile?: string; target?: string; buildArgs?: Record<string, string> };
  sync?: { manual?: { src: string; dest: string }[] };
}

export interface SkaffoldHook {
  host?: { command: string[] };
}

export interface SkaffoldConfig {
  apiVersion: string;
  build: { artifacts: SkaffoldArtifact[]; local?: { push?: boolean } };
  manifests: { kustomize?: { paths: string[] }; rawYaml?: string[] };
  deploy: { kubectl?: { hooks?: { before?: SkaffoldHook[]; after?: SkaffoldHook[] } } };
  profiles?: {
    name: string;
    build?: SkaffoldConfig['build'];
    manifests?: SkaffoldConfig['manifests'];
    deploy?: SkaffoldConfig['deploy'];
  }[];
}

export function loadSkaffold(): SkaffoldConfig {
  return parse(readText('skaffold.yaml')) as SkaffoldConfig;
}

/** The default configuration (`skaffold dev`) and each profile, with the profile's sections in place. */
export function skaffoldVariants(config: SkaffoldConfig): {
  name: string;
  build: SkaffoldConfig['build'];
  manifests: SkaffoldConfig['manifests'];
  deploy: SkaffoldConfig['deploy'];
}[] {
  return [
    { name: 'default', build: config.build, manifests: config.manifests, deploy: config.deploy },
    ...(config.profiles ?? []).map((profile) => ({
      name: profile.name,
      build: profile.build ?? config.build,
      manifests: profile.manifests ?? config.manifests,
      deploy: profile.deploy ?? config.deploy,
    })),
  ];
}

/**
 * The workspace folder an image is built from: the SERVICE build argument of the shared backend
 * Dockerfile, or else the folder of the artifact's own Dockerfile.
 */
export function workspaceOf(artifact: SkaffoldArtifact): string {
  return artifact.docker?.buildArgs?.SERVICE ?? path.dirname(artifact.docker?.dockerfile ?? 'Dockerfile');
}

/**
 * Where a workload keeps its projection: the folder its first container's `DATA_DIR` names, the
 * mount at that folder, and what the mounted volume is: a claim of its StatefulSet's template or an
 * emptyDir (each pod's own), or some other volume (one that replicas would share, or not writable).
 */
export function projectionStorage(workload: Workload): {
  dataDir: string | undefined;
  mount: { name: string; mountPath: string; readOnly?: boolean } | undefined;
  volume: 'claim' | 'emptyDir' | 'other' | undefined;
} {
  const [container] = workload.pod.containers;
  const dataDir = container?.env?.find((variable) => variable.name === 'DATA_DIR')?.value;
  const mount = container?.volumeMounts?.find((candidate) => candidate.mountPath === dataDir);
  const podVolume = workload.pod.volumes?.find((candidate) => candidate.name === mount?.name);
  const volume =
    mount === undefined
      ? undefined
      : workload.claims.includes(mount.name)
        ? 'claim'
        : podVolume?.emptyDir
          ? 'emptyDir'
          : podVolume
            ? 'other'
            : undefined;
  return { dataDir, mount, volume };
}
