import { parseInvocation, UsageError, USAGE, DEFAULT_VIEWS_PORT } from './args';
import { runCommand } from './commands';
import { BlogctlError } from './http';
import { clusterControl, findLauncher, isSwitchCommand, launcherControl, runFault } from './faults';
import { load } from './load/command';
import { locateRun } from './local-run';
import { openTarget } from './target';

export interface Io {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  /** DATA_DIR, and kubectl's environment (PATH, KUBECONFIG). */
  readonly env: NodeJS.ProcessEnv;
  /** Aborts a running `tail` (Ctrl-C). */
  readonly signal?: AbortSignal;
}

/** Runs one command line; the exit status: 0 done, 1 failed, 2 a usage mistake. */
export async function runCli(argv: readonly string[], io: Io): Promise<number> {
  let invocation;
  try {
    invocation = parseInvocation(argv, io.env);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.stderr.write(`blogctl: ${err.message}\n\n${USAGE}`);
    return 2;
  }
  const { command, where, json } = invocation;
  if (command.name === 'help') {
    io.stdout.write(USAGE);
    return 0;
  }
  const print = (text: string) => io.stdout.write(`${text}\n`);
  const signal = io.signal ?? new AbortController().signal;
  if (command.name === 'load') {
    try {
      await load(command, { json, print }, signal);
      return 0;
    } catch (err) {
      if (!(err instanceof BlogctlError)) throw err;
      io.stderr.write(`blogctl: ${err.message}\n`);
      return 1;
    }
  }
  let target;
  try {
    target = await openTarget(where!, DEFAULT_VIEWS_PORT, io.env);
    if (isSwitchCommand(command)) {
      const opened = target;
      const place = where!;
      const control =
        place.kind === 'local'
          ? launcherControl(
              () => findLauncher(place.busUrl, () => locateRun(place.busUrl, place.dataDir)),
              () => opened.adminToken(),
            )
          : clusterControl({ namespace: place.namespace, context: place.context, env: io.env }, opened);
      await runFault(command, control, { json, print });
    } else {
      await runCommand(command, target, { json, print }, signal);
    }
    return 0;
  } catch (err) {
    if (!(err instanceof BlogctlError)) throw err;
    io.stderr.write(`blogctl: ${err.message}\n`);
    return 1;
  } finally {
    await target?.close();
  }
}
