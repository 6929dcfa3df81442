import { localRunFile, readLocalRun, type LocalRun } from '@mini-blog/common/local-run';
import { withPort } from './args';
import { BlogctlError, request } from './http';

/**
 * What the launcher's file in the data folder says about the run at `--url`: the run, when the file
 * names `--url` among its places and its gateway answers as the launcher does; otherwise why not,
 * for a message that says what to pass instead. A file left by a launcher that was killed (kill -9)
 * names a gateway that no longer answers, and is not believed.
 */
export type Located = { readonly run: LocalRun } | { readonly run: undefined; readonly why: string };

/** `path` at `url` answers 200 with JSON that `looksRight` accepts; false when it cannot be reached. */
async function answers(url: URL | string, path: string, looksRight: (json: unknown) => boolean): Promise<boolean> {
  const answer = await request(new URL(path, url), { timeoutMs: 3000 }).catch(() => undefined);
  return answer?.status === 200 && looksRight(answer.json);
}

/** The launcher answers `GET /launcher/services` with its processes (on any port: `--url` may be its gateway). */
export const isLauncher = (url: URL | string) =>
  answers(url, '/launcher/services', (json) => Array.isArray((json as { services?: unknown } | undefined)?.services));

/** The bus's views (or the gateway, which routes to them) answer `GET /subscriptions` with a list. */
export const servesViews = (url: URL | string) => answers(url, '/subscriptions', Array.isArray);

export async function locateRun(url: URL, dataDir: string): Promise<Located> {
  const file = localRunFile(dataDir);
  const run = readLocalRun(dataDir);
  if (!run) return { run: undefined, why: `no launcher's file at ${file}` };
  const places = [run.gateway, run.bus, run.views, ...Object.values(run.services)];
  if (!places.some((place) => sameListener(new URL(place), url)))
    return { run: undefined, why: `${file} is another run's (its bus is ${run.bus})` };
  if (!(await isLauncher(run.gateway)))
    return {
      run: undefined,
      why: `${file} names the gateway ${run.gateway}, which does not answer (left by a launcher that did not stop cleanly?)`,
    };
  return { run };
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/** The same port on the same host, taking localhost, 127.0.0.1 and ::1 for one another. */
function sameListener(a: URL, b: URL): boolean {
  const port = (url: URL) => url.port || (url.protocol === 'https:' ? '443' : '80');
  if (port(a) !== port(b)) return false;
  return a.hostname === b.hostname || (LOOPBACK.has(a.hostname) && LOOPBACK.has(b.hostname));
}

/** A part of a local run that blogctl looks for when it is not told where it is. */
export interface Part {
  /** `launcher`, `bus's views`: for the message. */
  readonly what: string;
  answers(url: URL): Promise<boolean>;
  /** Where the launcher's file says it is. */
  inRun(run: LocalRun): string;
  /** The option that names it: the advice when nothing answers. */
  readonly option: string;
}

export const PARTS = {
  launcher: {
    what: 'launcher',
    answers: isLauncher,
    inRun: (run) => run.gateway,
    option: "--url with the gateway's URL (npm start prints it)",
  },
  views: { what: "bus's views", answers: servesViews, inRun: (run) => run.views, option: '--views-url' },
} as const satisfies Record<string, Part>;

/**
 * Where `wanted` answers: at `--url` itself when it is there; otherwise where the launcher's file
 * says, when it names `--url` and its gateway answers (any PORT, PORT=0 included); otherwise on
 * `port`, its default, of `--url`'s host. None answering, the message says why and what to pass.
 */
export async function findLocal(url: URL, located: () => Promise<Located>, wanted: Part, port: number): Promise<URL> {
  if (await wanted.answers(url)) return new URL(url.origin);
  const found = await located();
  if (found.run) return new URL(new URL(wanted.inRun(found.run)).origin);
  const guess = withPort(url, port);
  if (await wanted.answers(guess)) return guess;
  const why = found.run ? '' : `; ${found.why}`;
  throw new BlogctlError(
    `no ${wanted.what} at ${url.origin} or ${guess.origin}${why}: pass ${wanted.option}, or --data-dir with the run's data folder (npm start's DATA_DIR)`,
  );
}
