import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { generatedFiles } from './files';
import { REPO_ROOT } from './hand-written';

/**
 * `npm run generate`: writes every file made from the registry (the manifests, skaffold.yaml);
 * `--check` writes nothing and fails, naming them, when any differs from what is committed.
 */
function main(): void {
  const check = process.argv.includes('--check');
  const stale: string[] = [];
  for (const [file, text] of Object.entries(generatedFiles())) {
    const target = path.join(REPO_ROOT, file);
    let current: string | undefined;
    try {
      current = readFileSync(target, 'utf8');
    } catch {
      current = undefined;
    }
    if (current === text) continue;
    stale.push(file);
    if (!check) writeFileSync(target, text);
  }
  if (check && stale.length > 0) {
    process.stderr.write(`not what the registry makes (run \`npm run generate\`): ${stale.join(', ')}\n`);
    process.exit(1);
  }
  process.stdout.write(stale.length === 0 ? 'generated files up to date\n' : `written: ${stale.join(', ')}\n`);
}

main();
