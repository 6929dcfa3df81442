import { readFileSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import path from 'node:path';

/**
 * The recipes of docs/recipes.md as steps a program can follow: each step line there has a fixed
 * form ("In `file`, after the line `text`:", "Create `file`:", "Run `command`.", ...) followed by
 * the code block to write, so the test applies what the page says and nothing else.
 */

export type Step =
  | {
      readonly kind: 'insert';
      readonly file: string;
      readonly where: 'after' | 'before';
      readonly anchor: string;
      readonly scope?: string;
      readonly code: string;
    }
  | {
      readonly kind: 'replace';
      readonly file: string;
      readonly anchor: string;
      readonly scope?: string;
      readonly code: string;
    }
  | { readonly kind: 'append'; readonly file: string; readonly code: string }
  | { readonly kind: 'create'; readonly file: string; readonly code: string }
  | { readonly kind: 'run'; readonly command: string };

export interface Recipe {
  readonly title: string;
  readonly steps: readonly Step[];
}

const SCOPE = '(?:, below the line `(?<scope>[^`]+)`)?';
const FORMS: readonly [RegExp, (groups: Record<string, string>) => Omit<Step, 'code'> & { code?: never }][] = [
  [
    new RegExp(`^In \`(?<file>[^\`]+)\`${SCOPE}, (?<where>after|before) the line \`(?<anchor>[^\`]+)\`:$`),
    ({ file, where, anchor, scope }) => ({
      kind: 'insert',
      file: file!,
      where: where as 'after',
      anchor: anchor!,
      scope,
    }),
  ],
  [
    new RegExp(`^In \`(?<file>[^\`]+)\`${SCOPE}, replace the line \`(?<anchor>[^\`]+)\` with:$`),
    ({ file, anchor, scope }) => ({ kind: 'replace', file: file!, anchor: anchor!, scope }),
  ],
  [/^At the end of `(?<file>[^`]+)`:$/, ({ file }) => ({ kind: 'append', file: file! })],
  [/^Create `(?<file>[^`]+)`:$/, ({ file }) => ({ kind: 'create', file: file! })],
];
const RUN = /^Run `(?<command>[^`]+)`\.$/;

/** The recipes of the page (its `## Recipe: ...` sections), each with its steps in order. */
export function parseRecipes(markdown: string): Recipe[] {
  const recipes: { title: string; steps: Step[] }[] = [];
  const lines = markdown.split('\n');
  for (let index = 0; index < lines.length; index += 1) {
    const line = lines[index]!;
    const heading = /^## Recipe: (.+)$/.exec(line);
    if (heading) {
      recipes.push({ title: heading[1]!, steps: [] });
      continue;
    }
    if (/^## /.test(line)) recipes.push({ title: '', steps: [] });
    const recipe = recipes[recipes.length - 1];
    if (!recipe?.title) continue;
    const run = RUN.exec(line);
    if (run) {
      recipe.steps.push({ kind: 'run', command: run.groups!.command! });
      continue;
    }
    for (const [form, make] of FORMS) {
      const match = form.exec(line);
      if (!match) continue;
      const fence = lines.slice(index + 1).findIndex((candidate) => candidate.trim() !== '');
      const open = index + 1 + fence;
      if (!/^```\w*$/.test(lines[open] ?? ''))
        throw new Error(`docs/recipes.md:${index + 1}: a step needs a code block after it`);
      const close = lines.findIndex((candidate, at) => at > open && candidate === '```');
      if (close < 0) throw new Error(`docs/recipes.md:${open + 1}: the code block does not end`);
      recipe.steps.push({
        ...make(match.groups as Record<string, string>),
        code: lines.slice(open + 1, close).join('\n'),
      } as Step);
      index = close;
      break;
    }
  }
  return recipes.filter((recipe) => recipe.title);
}

/** The one line of `lines` (after `scope`'s first line, when given) that holds `anchor`. */
function lineOf(file: string, lines: readonly string[], anchor: string, scope: string | undefined): number {
  let from = 0;
  if (scope !== undefined) {
    from = lines.findIndex((line) => line.includes(scope)) + 1;
    if (from === 0) throw new Error(`${file}: no line holds \`${scope}\` (the step's "below the line")`);
    const at = lines.findIndex((line, index) => index >= from && line.includes(anchor));
    if (at < 0) throw new Error(`${file}: no line below \`${scope}\` holds \`${anchor}\``);
    return at;
  }
  const matches = lines.flatMap((line, index) => (line.includes(anchor) ? [index] : []));
  if (matches.length !== 1)
    throw new Error(`${file}: ${matches.length} lines hold \`${anchor}\`; a step's line must be exactly one`);
  return matches[0]!;
}

/** Applies one step that writes a file, in the tree at `root`; returns the file's path from the root. */
export function applyStep(root: string, step: Exclude<Step, { kind: 'run' }>): string {
  const target = path.join(root, step.file);
  if (step.kind === 'create') {
    if (existsSync(target)) throw new Error(`${step.file}: exists already; the step creates it`);
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, `${step.code}\n`);
    return step.file;
  }
  const text = readFileSync(target, 'utf8');
  if (step.kind === 'append') {
    writeFileSync(target, `${text.replace(/\n*$/, '\n')}${step.code}\n`);
    return step.file;
  }
  const lines = text.split('\n');
  const at = lineOf(step.file, lines, step.anchor, step.scope);
  const code = step.code.split('\n');
  if (step.kind === 'replace') lines.splice(at, 1, ...code);
  else lines.splice(step.where === 'after' ? at + 1 : at, 0, ...code);
  writeFileSync(target, lines.join('\n'));
  return step.file;
}
