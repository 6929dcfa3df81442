import { runCli } from './cli';

// Ctrl-C ends a `tail` (and closes a port-forward) cleanly; a second one exits at once.
const stop = new AbortController();
process.once('SIGINT', () => {
  stop.abort();
  process.once('SIGINT', () => process.exit(130));
});

// A reader that goes away (`blogctl tail | head -3`) ends the command quietly, as it ends a Unix
// tool, instead of with the stack of an unhandled EPIPE.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
  stop.abort();
  process.exit(0);
});

runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  signal: stop.signal,
}).then(
  (status) => {
    process.exitCode = status;
  },
  (err: unknown) => {
    process.stderr.write(`blogctl: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exitCode = 1;
  },
);
