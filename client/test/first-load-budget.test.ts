/**
 * @jest-environment node
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';

/**
 * The first page's JavaScript stays within its budget (docs/benchmarks.md, "Client bundle"): what
 * the browser loads for the posts list before anything else (the scripts index.html names, and
 * every module those import statically), gzipped, at most 80 kB. The other views and the tracing
 * SDK are loaded with `import()` after the first render, so they are not counted; the test checks
 * they are not part of it. It builds the client from source into a directory of its own, so what
 * it measures is the code as it is now, not a stale client/dist.
 */

const BUDGET_BYTES = 80_000;
const CLIENT = path.resolve(__dirname, '..');
const VITE = path.join(path.dirname(require.resolve('vite/package.json')), 'bin', 'vite.js');

let outDir: string;

beforeAll(async () => {
  outDir = mkdtempSync(path.join(tmpdir(), 'client-budget-'));
  // Without jest's NODE_ENV (test), which would make Vite build React's development version.
  const { NODE_ENV: _jests, ...env } = process.env;
  await promisify(execFile)(
    process.execPath,
    [VITE, 'build', '--outDir', outDir, '--emptyOutDir', '--logLevel', 'warn'],
    {
      cwd: CLIENT,
      env,
    },
  );
}, 180_000);

afterAll(() => rmSync(outDir, { recursive: true, force: true }));

/** The scripts index.html loads: its module script and the modules it preloads, as paths under the build. */
function scriptsOfPage(html: string): string[] {
  const tags = html.match(/<(script|link)\b[^>]*>/g) ?? [];
  return tags.flatMap((tag) => {
    const isScript = tag.startsWith('<script') && /type="module"/.test(tag);
    const isPreload = tag.startsWith('<link') && /rel="modulepreload"/.test(tag);
    const url = /\b(?:src|href)="([^"]+)"/.exec(tag)?.[1];
    return (isScript || isPreload) && url !== undefined ? [url.replace(/^\//, '')] : [];
  });
}

/** The chunks a built module imports statically (`import…from"./x.js"`, `import"./x.js"`), not with `import()`. */
function staticImportsOf(file: string, code: string): string[] {
  const specifiers = [
    ...code.matchAll(/(?:^|[;\s}])(?:import|export)\s*(?:[^"'();]*?\bfrom\s*)?"(\.{1,2}\/[^"]+\.js)"/g),
  ];
  return specifiers.map((match) => path.posix.join(path.posix.dirname(file), match[1]!));
}

/** Every file the first page loads as script, with its gzipped size. */
function firstLoad(dir: string): Map<string, number> {
  const sizes = new Map<string, number>();
  const visit = (file: string) => {
    if (sizes.has(file)) return;
    const code = readFileSync(path.join(dir, file));
    sizes.set(file, gzipSync(code).length);
    for (const imported of staticImportsOf(file, code.toString('utf8'))) visit(imported);
  };
  for (const script of scriptsOfPage(readFileSync(path.join(dir, 'index.html'), 'utf8'))) visit(script);
  return sizes;
}

describe("the first page's JavaScript", () => {
  it(`is at most ${BUDGET_BYTES / 1000} kB gzipped: the entry and what it imports statically`, () => {
    const sizes = firstLoad(outDir);
    const total = [...sizes.values()].reduce((sum, size) => sum + size, 0);
    const listing = [...sizes].map(([file, size]) => `${file}: ${size} bytes gzipped`).join('\n');

    expect(sizes.size).toBeGreaterThan(0);
    if (total > BUDGET_BYTES)
      throw new Error(`the first page loads ${total} bytes of gzipped JavaScript, over ${BUDGET_BYTES}:\n${listing}`);
    expect(total).toBeLessThanOrEqual(BUDGET_BYTES);
  });

  it('does not hold the tracing SDK or the views other than the posts: they are chunks of their own, loaded later', () => {
    const first = [...firstLoad(outDir).keys()];
    const assets = readdirSync(path.join(outDir, 'assets'));
    for (const lazy of ['tracing-sdk', 'event-flow', 'services', 'traces']) {
      const chunk = assets.find((file) => file.startsWith(`${lazy}-`) && file.endsWith('.js'));
      expect(chunk).toBeDefined();
      expect(first).not.toContain(`assets/${chunk}`);
    }
  });
});
