import { readdirSync } from 'node:fs';
import path from 'node:path';
import { argumentsOf, flagsOf, instructionsOf, lineage, readStages, substituteArgs as substitute } from './dockerfile';
import { ROOT, type SkaffoldArtifact } from './repository';

/**
 * A skaffold sync glob as a RegExp over slash-separated paths relative to the context: `**`
 * spans any number of folders (none included), `*` and `?` stay within one path segment.
 */
export function globToRegExp(glob: string): RegExp {
  let pattern = '';
  for (let i = 0; i < glob.length; i += 1) {
    const char = glob[i] as string;
    if (glob.startsWith('**/', i)) {
      pattern += '(?:.*/)?';
      i += 2;
    } else if (glob.startsWith('**', i)) {
      pattern += '.*';
      i += 1;
    } else if (char === '*') pattern += '[^/]*';
    else if (char === '?') pattern += '[^/]';
    else pattern += char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${pattern}$`);
}

/**
 * The workspace folders an artifact's Dockerfile copies from the build context, in any stage:
 * skaffold watches the sources of every COPY of the file, whichever target it builds.
 */
export function copiedFolders(artifact: SkaffoldArtifact): string[] {
  const args = artifact.docker?.buildArgs ?? {};
  const stages = readStages(artifact.docker?.dockerfile ?? 'Dockerfile');
  const sources = stages.flatMap((stage) =>
    instructionsOf(stage, 'COPY')
      .filter((copy) => flagsOf(copy).from === undefined)
      .flatMap((copy) => argumentsOf(copy).slice(0, -1)),
  );
  const folders = sources
    .map((source) => substitute(source, args).replace(/\/$/, ''))
    .filter((source) => isFolder(source));
  return [...new Set(folders)];
}

function isFolder(relative: string): boolean {
  try {
    readdirSync(path.join(ROOT, relative));
    return true;
  } catch {
    return false;
  }
}

function filesUnder(relative: string): string[] {
  const entries = readdirSync(path.join(ROOT, relative), { withFileTypes: true });
  return entries.flatMap((entry) => {
    const child = `${relative}/${entry.name}`;
    return entry.isDirectory() ? filesUnder(child) : [child];
  });
}

/**
 * The source files (everything under `src/` of each copied folder) that no sync rule of the
 * artifact matches: skaffold would rebuild and redeploy the image when one of them changes.
 */
export function unsyncedSources(artifact: SkaffoldArtifact): string[] {
  const rules = (artifact.sync?.manual ?? []).map((rule) => globToRegExp(rule.src));
  return copiedFolders(artifact)
    .filter((folder) => isFolder(`${folder}/src`))
    .flatMap((folder) => filesUnder(`${folder}/src`))
    .filter((file) => !rules.some((rule) => rule.test(file)));
}

/**
 * The folder (from the context) that a sync rule's files are in, or under: the part of its glob
 * before the first wildcard, up to its last `/` (`common/src/**` → `common/src`,
 * `client/index.html` → `client`).
 */
export function syncFolder(glob: string): string {
  return path.posix.dirname(`${glob.split('*')[0]}x`);
}

/** The folder of the container a sync rule writes into: its `dest`, and below it the files' path from the context. */
export function syncDestination(rule: { src: string; dest: string }): string {
  return path.posix.join(rule.dest, syncFolder(rule.src));
}

/**
 * The folders a sync rule writes into that the dev target does not hand to the user it runs as:
 * skaffold extracts the files with `tar` as that user, which must be able to create and replace
 * files there. A folder is handed over by a `RUN chown <user> <folder>` in the dev target's
 * lineage, or by a `COPY --chown=<user>` that creates it, that is one that copies a folder the
 * sync target lies inside: a COPY into a folder that exists already leaves that folder's owner.
 */
export function syncTargetsNotOwned(artifact: SkaffoldArtifact, user: string): string[] {
  const args = artifact.docker?.buildArgs ?? {};
  const stages = lineage(readStages(artifact.docker?.dockerfile ?? 'Dockerfile'), artifact.docker?.target ?? '');
  const copiedByUser = stages
    .flatMap((stage) => instructionsOf(stage, 'COPY'))
    .filter((copy) => flagsOf(copy).from === undefined && flagsOf(copy).chown === user)
    .flatMap((copy) =>
      argumentsOf(copy)
        .slice(0, -1)
        .map((source) => substitute(source, args).replace(/\/$/, '')),
    );
  const chowned = stages
    .flatMap((stage) => instructionsOf(stage, 'RUN'))
    .flatMap((run) => chownTargets(substitute(run.getRawArgumentsContent() ?? '', args), user));
  return (artifact.sync?.manual ?? [])
    .map((rule) => syncFolder(rule.src))
    .filter((folder) => !chowned.includes(folder) && !copiedByUser.some((source) => folder.startsWith(`${source}/`)));
}

/** The paths (relative to /app) that the `chown <user> ...` commands of a RUN line hand to the user. */
function chownTargets(command: string, user: string): string[] {
  return command.split(/&&|;|\|\|/).flatMap((part) => {
    const words = part
      .trim()
      .split(/\s+/)
      .map((word) => word.replace(/^["']|["']$/g, ''));
    if (words[0] !== 'chown') return [];
    const [owner, ...paths] = words.slice(1).filter((word) => !word.startsWith('-'));
    return owner === user ? paths.map((target) => target.replace(/^\/app\//, '').replace(/\/$/, '')) : [];
  });
}
