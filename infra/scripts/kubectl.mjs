// What the cluster scripts share: running kubectl against the cluster skaffold deploys to.
import { spawnSync } from 'node:child_process';

/**
 * The flags that point kubectl where skaffold deploys: a deploy hook gets the context and the
 * namespaces in SKAFFOLD_KUBE_CONTEXT and SKAFFOLD_NAMESPACES; run by hand, kubectl's own defaults.
 */
export function targetFlags(env = process.env) {
  const flags = [];
  if (env.SKAFFOLD_KUBE_CONTEXT) flags.push('--context', env.SKAFFOLD_KUBE_CONTEXT);
  const namespace = (env.SKAFFOLD_NAMESPACES ?? '').split(',')[0]?.trim();
  if (namespace) flags.push('--namespace', namespace);
  return flags;
}

/** Runs kubectl; `input` goes to its stdin (secrets never go on the command line, where ps shows them). */
export function kubectl(args, { input } = {}) {
  const result = spawnSync('kubectl', [...targetFlags(), ...args], { encoding: 'utf8', input });
  if (result.error) {
    const reason = result.error.code === 'ENOENT' ? 'kubectl is not installed or not on PATH' : result.error.message;
    return { status: 127, stdout: '', stderr: reason };
  }
  return { status: result.status ?? 1, stdout: result.stdout, stderr: result.stderr.trim() };
}

/** The parsed JSON kubectl prints, or undefined when the object does not exist. Throws on any other failure. */
export function getJson(args) {
  const result = kubectl(['get', ...args, '--ignore-not-found', '-o', 'json']);
  if (result.status !== 0)
    throw new Error(`kubectl get ${args.join(' ')}: ${result.stderr || `exit ${result.status}`}`);
  return result.stdout.trim() === '' ? undefined : JSON.parse(result.stdout);
}
