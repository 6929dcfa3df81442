import { readStages } from './support/dockerfile';
import { loadSkaffold, readText, skaffoldVariants } from './support/repository';

/**
 * One supported Node line, said once per place that has to know it: the engines range (which npm
 * enforces at install), the type definitions, .nvmrc, the images' base and the Node CI installs.
 * A move to the next LTS that forgets one of them fails here rather than in production.
 */
const rootManifest = JSON.parse(readText('package.json')) as {
  engines: { node: string };
  devDependencies: Record<string, string>;
};
const supported = Number(/^>=\s*(\d+)$/.exec(rootManifest.engines.node)?.[1]);

describe('the supported Node line', () => {
  it('is a whole major in engines, enforced by npm at install', () => {
    expect(supported).toBeGreaterThanOrEqual(24);
    expect(readText('.npmrc')).toMatch(/^engine-strict=true$/m);
  });

  it('is the major of @types/node and of .nvmrc', () => {
    expect(rootManifest.devDependencies['@types/node']).toMatch(new RegExp(`^\\^${supported}\\.`));
    expect(readText('.nvmrc').trim()).toBe(String(supported));
  });

  it('is the base of every image skaffold builds', () => {
    const dockerfiles = new Set(
      skaffoldVariants(loadSkaffold())
        .flatMap((variant) => variant.build.artifacts)
        .map((artifact) => artifact.docker?.dockerfile ?? 'Dockerfile'),
    );
    for (const dockerfile of dockerfiles) {
      const bases = readStages(dockerfile)
        .map((stage) => stage.from)
        .filter((from) => from.startsWith('node:'));
      expect(bases).toEqual(bases.map(() => `node:${supported}-bookworm-slim`));
    }
  });

  it('is the Node that CI installs and puts first on PATH', () => {
    expect(readText('.ci/run')).toMatch(new RegExp(`^node_major=${supported}$`, 'm'));
  });

  it('is the one the README names', () => {
    expect(readText('README.md')).toContain(`Node.js ${supported}`);
  });
});
