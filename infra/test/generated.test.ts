import { readFileSync } from 'node:fs';
import path from 'node:path';
import { generatedFiles } from '../src/generate/files';
import { ROOT } from './support/repository';

/**
 * The drift check: every file made from the registry is committed as the generator writes it, so a
 * registry entry and the manifests, the routes and skaffold.yaml cannot disagree.
 */
describe('the files generated from the registry (npm run generate)', () => {
  const files = generatedFiles();

  it('are committed exactly as the generator writes them', () => {
    const stale = Object.entries(files)
      .filter(([file, text]) => readFileSync(path.join(ROOT, file), 'utf8') !== text)
      .map(([file]) => file);

    expect(stale).toEqual([]);
  });

  it('say in their first lines that they are generated, and from what', () => {
    for (const text of Object.values(files))
      expect(text).toMatch(/^# Generated from common\/src\/registry\.ts by `npm run generate`/);
  });
});
