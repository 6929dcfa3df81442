import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import type { Container, K8sObject, PodSpec, VolumeMount, Workload } from './repository';

/**
 * Every folder under `dir` that a kustomization can be rendered from (not a Component, which only
 * composes into one): the base, each overlay and each overlay's dev variant.
 */
export function kustomizationDirs(dir: string): string[] {
  const entries = readdirSync(dir, { withFileTypes: true });
  const own = entries.some((entry) => entry.name === 'kustomization.yaml')
    ? (parse(readFileSync(path.join(dir, 'kustomization.yaml'), 'utf8')) as { kind?: string }).kind === 'Component'
      ? []
      : [dir]
    : [];
  return [
    ...own,
    ...entries
      .filter((entry) => entry.isDirectory() && entry.name !== 'node_modules')
      .flatMap((entry) => kustomizationDirs(path.join(dir, entry.name))),
  ];
}

/** The pod an object runs: a workload's template, a CronJob's job's, a Pod's own spec; undefined for other kinds. */
export function podSpecOf(object: K8sObject): PodSpec | undefined {
  const spec = object.spec as
    | {
        template?: { spec?: PodSpec };
        jobTemplate?: { spec?: { template?: { spec?: PodSpec } } };
        containers?: Container[];
      }
    | undefined;
  if (object.kind === 'Pod') return spec as PodSpec | undefined;
  return spec?.template?.spec ?? spec?.jobTemplate?.spec?.template?.spec;
}

/**
 * Every container (init containers included) of the objects that is not confined as every container
 * of the system must be, as `Kind/name container: <what is missing>`: a read-only root filesystem,
 * no privilege escalation, every capability dropped, a non-root user (the pod's or its own).
 */
export function unconfinedContainers(objects: readonly K8sObject[]): string[] {
  return objects.flatMap((object) => {
    const pod = podSpecOf(object);
    return [...(pod?.initContainers ?? []), ...(pod?.containers ?? [])].flatMap((container) => {
      const context = container.securityContext;
      const missing = [
        ...(context?.readOnlyRootFilesystem === true ? [] : ['readOnlyRootFilesystem']),
        ...(context?.allowPrivilegeEscalation === false ? [] : ['allowPrivilegeEscalation']),
        ...(context?.capabilities?.drop?.includes('ALL') ? [] : ['capabilities']),
        ...((context?.runAsNonRoot ?? pod?.securityContext?.runAsNonRoot) === true ? [] : ['runAsNonRoot']),
      ];
      return missing.length === 0
        ? []
        : [`${object.kind}/${object.metadata.name} ${container.name}: ${missing.join(', ')}`];
    });
  });
}

const isAtOrUnder = (target: string, folder: string) =>
  target === folder || target.startsWith(folder.endsWith('/') ? folder : `${folder}/`);

/** The mount a container reaches a path through: the deepest one at or above it; undefined when it is on the root filesystem. */
export function mountAt(container: Container, target: string): VolumeMount | undefined {
  return (container.volumeMounts ?? [])
    .filter((mount) => isAtOrUnder(target, mount.mountPath))
    .sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
}

/**
 * Why a container of a workload cannot create and replace files in a folder, or undefined if it
 * can: the folder must be on a writable mount of a volume of the pod's own (an emptyDir or a claim
 * of its StatefulSet), since the root filesystem is read-only.
 */
export function whyNotWritable(workload: Workload, container: Container, folder: string): string | undefined {
  const mount = mountAt(container, folder);
  if (!mount) return `${folder} is on the root filesystem`;
  if (mount.readOnly) return `${folder} is on ${mount.mountPath}, mounted read-only`;
  const volume = workload.pod.volumes?.find((candidate) => candidate.name === mount.name);
  if (!volume?.emptyDir && !workload.claims.includes(mount.name))
    return `${folder} is on ${mount.mountPath}, volume ${mount.name}, which is neither an emptyDir nor a claim`;
  return undefined;
}

/**
 * The folder of the image a mount of a container shows when the container starts: the one that an
 * init container of the same image copies with `cp -a <folders...> <dir>/` into the mount's volume,
 * mounted at <dir>, where it lands at the mount's subPath. Undefined when no init container does
 * (the folder would start empty).
 */
export function seedOf(workload: Workload, container: Container, mount: VolumeMount): string | undefined {
  for (const init of workload.pod.initContainers ?? []) {
    const at = init.volumeMounts?.find((candidate) => candidate.name === mount.name && !candidate.subPath);
    const [program, flag, ...operands] = init.command ?? [];
    if (init.image !== container.image || !at || program !== 'cp' || flag !== '-a' || operands.length < 2) continue;
    const target = operands[operands.length - 1] as string;
    if (path.posix.resolve(target) !== path.posix.resolve(at.mountPath)) continue;
    const source = operands.slice(0, -1).find((candidate) => path.posix.basename(candidate) === mount.subPath);
    if (source) return source;
  }
  return undefined;
}
