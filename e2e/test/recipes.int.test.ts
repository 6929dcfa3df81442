import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { waitFor } from '@mini-blog/common/testing';
import { call } from './faults/support/http';
import { applyStep, parseRecipes, type Recipe } from './support/recipes';

/**
 * The recipes of docs/recipes.md hold: followed to the letter in a copy of the repository (its
 * sources copied, its built output too, its node_modules linked), each touches no more files than
 * it promises, the affected projects build, and the system started as `npm start` starts it routes
 * a like through the gateway to posts, whose PostLiked reaches query, and routes `/activity` to the
 * new service, which the bus feeds.
 */

jest.setTimeout(240_000);

const ROOT = path.resolve(__dirname, '..', '..');
/** What is not copied: the repository's history, its dependencies (linked instead), run data. */
const NOT_COPIED = new Set(['.git', 'node_modules', 'data', 'coverage', 'artifacts', '.env']);
/** Build output: copied, so that only the affected projects build, but no file a recipe touches. */
const BUILT = new Set(['dist', 'dist-server']);
/** The first line of every file `npm run generate` writes. */
const GENERATED = /^# Generated from common\/src\/registry\.ts by `npm run generate`/;
/** The most files of the repository each recipe may touch by hand (docs/recipes.md says which). */
const MOST_FILES = { event: 6, serviceExisting: 3 } as const;

let work: string;
let copy: string;
let recipes: Recipe[];
let launcher: ChildProcess | undefined;
const output: string[] = [];

/** A copy of the repository's files, its node_modules links to the original's, its own packages linked to the copy. */
function copyRepository(to: string): void {
  cpSync(ROOT, to, {
    recursive: true,
    preserveTimestamps: true,
    filter: (source) => !NOT_COPIED.has(path.basename(source)),
  });
  const modules = path.join(ROOT, 'node_modules');
  mkdirSync(path.join(to, 'node_modules'));
  for (const entry of readdirSync(modules)) {
    if (entry !== '@mini-blog') {
      symlinkSync(path.join(modules, entry), path.join(to, 'node_modules', entry));
      continue;
    }
    // The workspaces' own packages must be the copy's, or the copy would run the original's code.
    mkdirSync(path.join(to, 'node_modules', entry));
    for (const name of readdirSync(path.join(modules, entry))) {
      const folder = path.relative(ROOT, realpathSync(path.join(modules, entry, name)));
      symlinkSync(path.join(to, folder), path.join(to, 'node_modules', entry, name));
    }
  }
  for (const folder of readdirSync(ROOT)) {
    const own = path.join(ROOT, folder, 'node_modules');
    if (existsSync(own)) symlinkSync(own, path.join(to, folder, 'node_modules'));
  }
}

/** Every file of the tree that a change can touch (no build output, no dependencies), with its hash. */
function snapshot(root: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(path.join(root, dir), { withFileTypes: true })) {
      if (NOT_COPIED.has(entry.name) || BUILT.has(entry.name) || entry.name.endsWith('.tsbuildinfo')) continue;
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (entry.isFile())
        files.set(
          file,
          createHash('sha256')
            .update(readFileSync(path.join(root, file)))
            .digest('hex'),
        );
    }
  };
  walk('');
  return files;
}

/** The files added or changed between two snapshots (a recipe removes none). */
function changed(before: Map<string, string>, after: Map<string, string>): { added: string[]; edited: string[] } {
  const added = [...after.keys()].filter((file) => !before.has(file)).sort();
  const edited = [...after.keys()].filter((file) => before.has(file) && before.get(file) !== after.get(file)).sort();
  return { added, edited };
}

/** Runs a program in the copy; rejects with its output when it fails or takes longer than `timeoutMs`. */
function run(command: string, args: readonly string[], timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: copy, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else
        reject(
          new Error(
            `\`${[command, ...args].join(' ')}\` ${signal ? `was stopped after ${timeoutMs} ms` : `exited with ${code}`}:\n${text.slice(-4000)}`,
          ),
        );
    });
  });
}

/**
 * A recipe's command, run in the copy. `npm install` only updates the lockfile there (what the
 * recipe needs of it; the copy's node_modules are links to the original's, which it must not
 * change), from what is installed already.
 */
function runCommand(command: string): Promise<void> {
  if (command === 'npm run generate') return run('npm', ['run', 'generate', '--silent'], 120_000);
  if (command === 'npm install')
    return run(
      'npm',
      [
        'install',
        '--package-lock-only',
        '--offline',
        '--ignore-scripts',
        '--no-audit',
        '--no-fund',
        '--engine-strict=false',
      ],
      60_000,
    );
  throw new Error(`docs/recipes.md: the test does not know how to run \`${command}\`; teach runCommand`);
}

/** Makes a recipe's edits; returns the files they touched. */
function edit(recipe: Recipe): Set<string> {
  const touched = new Set<string>();
  for (const step of recipe.steps) if (step.kind !== 'run') touched.add(applyStep(copy, step));
  return touched;
}

const commandsOf = (recipe: Recipe) => recipe.steps.flatMap((step) => (step.kind === 'run' ? [step.command] : []));

const recipe = (title: string) => {
  const found = recipes.find((candidate) => candidate.title.startsWith(title));
  if (!found) throw new Error(`docs/recipes.md has no section "## Recipe: ${title}"`);
  return found;
};

beforeAll(() => {
  if (!existsSync(path.join(ROOT, 'launcher', 'dist', 'main.js')))
    throw new Error(
      'the repository is not built: run `npm run build` first (the copy builds only what the recipes touch)',
    );
  work = mkdtempSync(path.join(tmpdir(), 'mini-blog-recipes-'));
  copy = path.join(work, 'repo');
  copyRepository(copy);
  recipes = parseRecipes(readFileSync(path.join(copy, 'docs', 'recipes.md'), 'utf8'));
});

afterAll(async () => {
  const pid = launcher?.pid;
  if (pid !== undefined && launcher!.exitCode === null) {
    // The launcher stops its services on SIGTERM, as on Ctrl-C; if it has not within 15 s, its
    // process group (it and every service it started) is killed.
    const exited = new Promise<void>((resolve) => launcher!.once('exit', () => resolve()));
    process.kill(pid, 'SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), 15_000)));
    if ((await Promise.race([exited, late])) === 'late') process.kill(-pid, 'SIGKILL');
    clearTimeout(timer);
  }
  rmSync(work, { recursive: true, force: true });
});

describe('the recipes of docs/recipes.md, followed to the letter', () => {
  let eventFiles: Set<string>;
  let serviceFiles: Set<string>;

  it('adds an event type in at most as many files as it says', () => {
    const before = snapshot(copy);
    eventFiles = edit(recipe('a new event type'));
    const { added, edited } = changed(before, snapshot(copy));

    expect({ added, edited }).toEqual({ added: [], edited: [...eventFiles].sort() });
    expect(eventFiles.size).toBeLessThanOrEqual(MOST_FILES.event);
  });

  it('adds a service as one folder and one registry entry, touching at most three existing files', () => {
    const before = snapshot(copy);
    serviceFiles = edit(recipe('a new service'));
    const { added, edited } = changed(before, snapshot(copy));

    expect(added.filter((file) => !file.startsWith(`activity${path.sep}`))).toEqual([]);
    expect(edited).toContain(path.join('common', 'src', 'registry.ts'));
    expect(edited.length).toBeLessThanOrEqual(MOST_FILES.serviceExisting);
    expect([...added, ...edited].sort()).toEqual([...serviceFiles].sort());
  });

  /**
   * Both recipes' commands, once each, after both recipes' edits: `npm run generate` writes what the
   * registry makes, whatever ran before, so running it once at the end writes what running it after
   * each recipe would (and builds `common` once, not twice).
   */
  it('then writes with their commands only generated files: the manifests, skaffold.yaml, the lockfile', async () => {
    const commands = [...new Set([...commandsOf(recipe('a new event type')), ...commandsOf(recipe('a new service'))])];
    expect(commands).toEqual(expect.arrayContaining(['npm run generate']));
    const before = snapshot(copy);
    for (const command of commands) await runCommand(command);
    const { added, edited } = changed(before, snapshot(copy));
    const written = [...added, ...edited].filter((file) => file !== 'package-lock.json');

    expect(written.filter((file) => !GENERATED.test(readFileSync(path.join(copy, file), 'utf8')))).toEqual([]);
    expect(added).toContain(path.join('infra', 'k8s', 'activity.yaml'));
    expect(edited).toEqual(expect.arrayContaining(['skaffold.yaml', 'package-lock.json']));
  });

  it('leaves the code as Prettier formats it, and the affected projects build', async () => {
    const files = [...eventFiles, ...serviceFiles];
    const projects = [...new Set(files.map((file) => file.split(path.sep)[0]!))].filter(
      (folder) => folder !== 'client' && existsSync(path.join(copy, folder, 'tsconfig.json')),
    );
    // The client's type check, of the files the recipe touched (and what they import) only.
    const clientCheck = path.join(copy, 'client', 'tsconfig.recipes.json');
    writeFileSync(
      clientCheck,
      JSON.stringify({
        extends: './tsconfig.json',
        include: files
          .filter((file) => file.startsWith(`client${path.sep}`))
          .map((file) => path.relative('client', file)),
      }),
    );
    const tsc = path.join('node_modules', 'typescript', 'bin', 'tsc');

    await Promise.all([
      run(
        process.execPath,
        [path.join('node_modules', 'prettier', 'bin', 'prettier.cjs'), '--check', ...files],
        60_000,
      ),
      run(process.execPath, [tsc, '-b', ...projects], 150_000),
      run(process.execPath, [tsc, '-p', clientCheck, '--noEmit'], 150_000),
    ]);
    expect(statSync(path.join(copy, 'activity', 'dist', 'index.js')).isFile()).toBe(true);
  });

  it('runs them: a like goes through the gateway to posts and reaches query, /activity reaches the new service', async () => {
    const dataDir = path.join(work, 'data');
    launcher = spawn(process.execPath, [path.join('launcher', 'dist', 'main.js')], {
      cwd: copy,
      env: { ...process.env, PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group, so that whatever it started can be stopped with it.
      detached: true,
    });
    for (const stream of [launcher.stdout!, launcher.stderr!])
      stream.on('data', (chunk: Buffer) => output.push(...chunk.toString().split('\n')));
    const url = await waitFor(
      () => {
        if (launcher!.exitCode !== null) throw new Error(`the launcher exited:\n${output.slice(-60).join('\n')}`);
        return /mini-blog is running: open (\S+)/.exec(output.join('\n'))?.[1];
      },
      'the system to start',
      { timeoutMs: 90_000, intervalMs: 200 },
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n--- the launcher's last lines ---\n${output.slice(-60).join('\n')}`);
    });

    const post = await call(url, 'POST', '/posts/create', { title: 'A post to like' });
    expect(post.status).toBe(201);
    const { id } = post.json as { id: string };
    const like = await call(url, 'POST', `/posts/${id}/like`);
    expect({ status: like.status, json: like.json }).toEqual({
      status: 201,
      json: { id: expect.any(String), postId: id },
    });
    await waitFor(
      async () => {
        const feed = (await call(url, 'GET', '/posts/feed')).json as { posts?: { id: string; likes?: number }[] };
        return feed.posts?.find((candidate) => candidate.id === id)?.likes === 1;
      },
      'query to show the like in the feed',
      { timeoutMs: 30_000 },
    );

    expect((await call(url, 'POST', `/posts/${id}/comments`, { content: 'Counted' })).status).toBe(201);
    const activity = await waitFor(
      async () => {
        const answer = await call(url, 'GET', '/activity');
        const counts = answer.json as { posts?: number; comments?: number };
        return answer.status === 200 && counts.comments === 1 ? counts : undefined;
      },
      'GET /activity through the gateway to count the post and the comment',
      { timeoutMs: 30_000 },
    );
    expect(activity).toEqual({ posts: 1, comments: 1 });
  });
});
