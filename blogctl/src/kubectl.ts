import { spawn, spawnSync } from 'node:child_process';
import { BlogctlError } from './http';

/** Where kubectl points: its context and namespace, or its own defaults. */
export interface KubectlTarget {
  readonly namespace: string | undefined;
  readonly context: string | undefined;
  /** kubectl's environment: PATH finds it, KUBECONFIG its configuration. */
  readonly env: NodeJS.ProcessEnv;
}

const flagsOf = ({ namespace, context }: KubectlTarget) => [
  ...(context ? ['--context', context] : []),
  ...(namespace ? ['--namespace', namespace] : []),
];

/** `kubectl <args>` in the target's context and namespace; its output. Throws BlogctlError with kubectl's own message. */
export function kubectl(target: KubectlTarget, args: readonly string[]): string {
  const result = spawnSync('kubectl', [...flagsOf(target), ...args], {
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
    env: target.env,
  });
  if (result.error)
    throw new BlogctlError(
      `kubectl: ${(result.error as NodeJS.ErrnoException).code === 'ENOENT' ? 'not installed or not on PATH' : result.error.message}`,
    );
  if (result.status !== 0)
    throw new BlogctlError(`kubectl ${args.join(' ')}: ${result.stderr.trim() || `exit ${result.status}`}`);
  return result.stdout;
}

/** `kubectl get ... -o json`, parsed (undefined for nothing). */
export function kubectlGet(target: KubectlTarget, args: readonly string[]): unknown {
  const stdout = kubectl(target, ['get', ...args, '-o', 'json']);
  // `--ignore-not-found` prints nothing for an object that does not exist.
  return stdout.trim() === '' ? undefined : (JSON.parse(stdout) as unknown);
}

export interface PortForward {
  /** The local port of each remote port. */
  readonly ports: Readonly<Record<number, number>>;
  close(): Promise<void>;
}

/** How long kubectl may take to set a port-forward up. */
const FORWARD_TIMEOUT_MS = 15_000;
/** kubectl's complaints are kept for the error message, the last few kilobytes of them. */
const MAX_STDERR_CHARS = 4096;

/**
 * `kubectl port-forward <resource> :<port>...`: kubectl picks free local ports and prints them
 * ("Forwarding from 127.0.0.1:54321 -> 4005"); resolves once every port is forwarded.
 */
export async function portForward(
  target: KubectlTarget,
  resource: string,
  remotePorts: readonly number[],
): Promise<PortForward> {
  const child = spawn(
    'kubectl',
    [...flagsOf(target), 'port-forward', resource, ...remotePorts.map((port) => `:${port}`)],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: target.env,
    },
  );
  const ports: Record<number, number> = {};
  let stderr = '';
  let stdout = '';
  let settled = false;
  // Resolves once kubectl is gone, whether it ran and exited or never started.
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()).once('error', () => resolve()));
  const close = async () => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) child.kill('SIGTERM');
    await gone;
  };
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-MAX_STDERR_CHARS);
  });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          settle(
            new BlogctlError(
              `kubectl port-forward ${resource}: not forwarding after ${FORWARD_TIMEOUT_MS / 1000} s ${stderr.trim()}`,
            ),
          ),
        FORWARD_TIMEOUT_MS,
      );
      function settle(err?: Error) {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) reject(err);
        else resolve();
      }
      child.on('error', (err: NodeJS.ErrnoException) =>
        settle(new BlogctlError(`kubectl: ${err.code === 'ENOENT' ? 'not installed or not on PATH' : err.message}`)),
      );
      child.on('exit', () =>
        settle(new BlogctlError(`kubectl port-forward ${resource}: ${stderr.trim() || 'exited'}`)),
      );
      // kubectl goes on printing a line per connection: this keeps reading, so that its pipe never fills.
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        if (settled) return;
        stdout = (stdout + chunk).slice(-MAX_STDERR_CHARS);
        for (const [, local, remote] of stdout.matchAll(/Forwarding from 127\.0\.0\.1:(\d+) -> (\d+)/g))
          ports[Number(remote)] = Number(local);
        if (remotePorts.every((port) => ports[port] !== undefined)) settle();
      });
    });
  } catch (err) {
    await close();
    throw err;
  }
  return { ports, close };
}
