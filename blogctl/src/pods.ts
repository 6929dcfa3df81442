import type { ServiceName } from '@mini-blog/common/registry';
import { BlogctlError } from './http';
import { kubectlGet, type KubectlTarget } from './kubectl';

/** What blogctl reads of a pod. */
export interface Pod {
  readonly metadata: {
    readonly name: string;
    readonly labels?: Record<string, string>;
    /** Set once the pod is being deleted: it is going, whatever its Ready condition still says. */
    readonly deletionTimestamp?: string;
  };
  readonly status?: { readonly conditions?: readonly { readonly type: string; readonly status: string }[] };
}

/** Its Ready condition is True: what its readiness probe on /readyz decides. */
export const isReady = (pod: Pod) =>
  pod.status?.conditions?.some((condition) => condition.type === 'Ready' && condition.status === 'True') === true;

/** A pod of a service left alone, and why. */
export interface SkippedPod {
  readonly pod: string;
  readonly why: 'not ready' | 'terminating';
}

/** The pods of a service to reach one by one, and the others. */
export interface ServicePods {
  /** In the order of their names (a StatefulSet's -0 first): the ready ones, or the one asked for. */
  readonly chosen: readonly { readonly pod: string; readonly ready: boolean }[];
  readonly skipped: readonly SkippedPod[];
}

/**
 * The pods behind a service's Kubernetes Service (`<service>-srv`, as the manifests generated from
 * the registry name it), found by that Service's own selector: exactly the pods it sends requests
 * to, on whichever overlay is deployed. With `only`, that one pod, which must be one of them and
 * not terminating, ready or not: one that stays unready (a consumer changed behind it) may be
 * what the operator means to mend.
 */
export function servicePods(kube: KubectlTarget, service: ServiceName, only: string | undefined): ServicePods {
  const name = `${service}-srv`;
  const found = kubectlGet(kube, ['service', name, '--ignore-not-found']) as
    { spec?: { selector?: Record<string, string> } } | undefined;
  if (!found) throw new BlogctlError(`no Service ${name} here: deploy first, or pick the namespace with -n`);
  const selector = Object.entries(found.spec?.selector ?? {})
    .map(([key, value]) => `${key}=${value}`)
    .join(',');
  if (!selector) throw new BlogctlError(`the Service ${name} has no selector, so no pod of ${service} to reach`);
  const pods = (kubectlGet(kube, ['pods', '-l', selector]) as { items: Pod[] }).items
    .slice()
    .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name, 'en', { numeric: true }));
  if (pods.length === 0)
    throw new BlogctlError(
      `${service}: no pod behind the Service ${name} (${selector}): stopped? (kubectl blog start ${service})`,
    );
  const stateOf = (pod: Pod): SkippedPod['why'] | 'ready' =>
    pod.metadata.deletionTimestamp !== undefined ? 'terminating' : isReady(pod) ? 'ready' : 'not ready';
  if (only !== undefined) {
    const pod = pods.find((candidate) => candidate.metadata.name === only);
    if (!pod)
      throw new BlogctlError(
        `--pod ${only}: not a pod of ${service} (its pods: ${pods.map((other) => other.metadata.name).join(', ')})`,
      );
    const state = stateOf(pod);
    if (state === 'terminating') throw new BlogctlError(`--pod ${only}: the pod is terminating`);
    return { chosen: [{ pod: only, ready: state === 'ready' }], skipped: [] };
  }
  const chosen: { pod: string; ready: boolean }[] = [];
  const skipped: SkippedPod[] = [];
  for (const pod of pods) {
    const state = stateOf(pod);
    if (state === 'ready') chosen.push({ pod: pod.metadata.name, ready: true });
    else skipped.push({ pod: pod.metadata.name, why: state });
  }
  return { chosen, skipped };
}
