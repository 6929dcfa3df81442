import { validate } from 'dockerfile-utils';
import {
  argumentsOf,
  flagsOf,
  instructionsOf,
  lineage,
  readStages,
  substituteArgs as substitute,
  type Stage,
} from './support/dockerfile';
import { existsInRepo, loadSkaffold, readText, skaffoldVariants, workspaceOf } from './support/repository';

const BASE_IMAGE = 'node:24-bookworm-slim';

/** Every Dockerfile skaffold builds, with the build arguments of each artifact that uses it. */
const artifacts = skaffoldVariants(loadSkaffold()).flatMap((variant) => variant.build.artifacts);
const dockerfiles = [...new Set(artifacts.map((artifact) => artifact.docker?.dockerfile ?? 'Dockerfile'))];
const buildArgsOf = (dockerfile: string) =>
  artifacts
    .filter((artifact) => artifact.docker?.dockerfile === dockerfile)
    .map((artifact) => artifact.docker?.buildArgs ?? {});

describe.each(dockerfiles)('%s', (dockerfile) => {
  const stages = readStages(dockerfile);
  const production = stages.at(-1) as Stage;

  it('lints clean with dockerfile-utils', () => {
    expect(validate(readText(dockerfile))).toEqual([]);
  });

  it('uses nothing the legacy builder lacks: no syntax directive, RUN flags, heredocs or COPY flags beyond --from and --chown', () => {
    expect(readText(dockerfile)).not.toMatch(/^#\s*syntax=/m);
    for (const stage of stages) {
      for (const instruction of stage.instructions) {
        const text = instruction.toString();
        expect(text).not.toMatch(/<<-?\s*["']?\w+/);
        const allowed = instruction.getKeyword() === 'COPY' ? ['from', 'chown'] : [];
        for (const flag of Object.keys(flagsOf(instruction))) expect(allowed).toContain(flag);
      }
    }
  });

  it(`builds every stage from ${BASE_IMAGE} or from an earlier stage`, () => {
    stages.forEach((stage, index) => {
      const earlier = stages.slice(0, index).map((candidate) => candidate.name);
      expect([BASE_IMAGE, ...earlier]).toContain(stage.from);
    });
  });

  it('has a dev target and ends with the production stage, which starts afresh from the base image', () => {
    expect(stages.map((stage) => stage.name)).toContain('dev');
    expect(production.from).toBe(BASE_IMAGE);
  });

  it('installs with npm ci, only the workspace and common, and production dependencies only for the final image', () => {
    const installs = stages.flatMap((stage) =>
      instructionsOf(stage, 'RUN')
        .map((run) => ({ stage, text: run.toString() }))
        .filter(({ text }) => /\bnpm (ci|install|i)\b/.test(text)),
    );
    expect(installs.length).toBeGreaterThan(0);
    for (const { text } of installs) {
      expect(text).toMatch(/\bnpm ci\b/);
      expect(text).toMatch(/-w common\b/);
    }
    const productionSources = instructionsOf(production, 'COPY').map((copy) => flagsOf(copy).from);
    const dependencyStage = productionSources.find((source) => installs.some(({ stage }) => stage.name === source));
    const dependencyInstall = installs.find(({ stage }) => stage.name === dependencyStage);
    expect(dependencyInstall?.text).toMatch(/--omit=dev\b/);
    expect(instructionsOf(production, 'RUN').some((run) => /\bnpm\b/.test(run.toString()))).toBe(false);
  });

  it('copies only compiled output from the build stage into the production image', () => {
    const fromBuild = instructionsOf(production, 'COPY').filter((copy) => flagsOf(copy).from === 'build');
    expect(fromBuild.length).toBeGreaterThan(0);
    for (const copy of fromBuild) expect(argumentsOf(copy)[0]).toMatch(/\/dist(-server)?$/);
  });

  it.each(['dev', production.name])(
    'runs the %s target as uid:gid 1000:1000, by number, so that kubelet can check runAsNonRoot',
    (target) => {
      const user = lineage(stages, target)
        .flatMap((stage) => instructionsOf(stage, 'USER').map((instruction) => argumentsOf(instruction)[0]))
        .at(0);
      expect(user).toBe('1000:1000');
    },
  );

  it('gives every stage a /data folder that uid 1000 owns', () => {
    for (const stage of stages) {
      const runs = lineage(stages, stage.name).flatMap((ancestor) =>
        instructionsOf(ancestor, 'RUN').map((run) => run.toString()),
      );
      expect({
        stage: stage.name,
        createsData: runs.some((run) => /mkdir (-p )?\/data\b.*chown 1000:1000 \/data\b/.test(run)),
      }).toEqual({
        stage: stage.name,
        createsData: true,
      });
    }
  });

  it.each(['dev', production.name])(
    "leaves npm's download cache out of every stage the %s target is built on",
    (target) => {
      const installs = lineage(stages, target)
        .flatMap((stage) => instructionsOf(stage, 'RUN').map((run) => run.toString()))
        .filter((run) => /\bnpm ci\b/.test(run));
      for (const install of installs) expect(install).toMatch(/\bnpm ci\b[^&]*&& npm cache clean --force\b/);
    },
  );

  it('keeps the root workspace (the test and lint tools) out of the dev target, and starts it without npx', () => {
    const dev = lineage(stages, 'dev');
    const installs = dev
      .flatMap((stage) => instructionsOf(stage, 'RUN').map((run) => run.toString()))
      .filter((run) => /\bnpm ci\b/.test(run));
    expect(installs.length).toBeGreaterThan(0);
    for (const install of installs) expect(install).not.toMatch(/--include-workspace-root/);
    const cmd =
      instructionsOf(dev[0] as Stage, 'CMD')
        .at(-1)
        ?.getRawArgumentsContent() ?? '';
    expect(cmd).toMatch(/\bnode\b/);
    expect(cmd).not.toMatch(/\bnpx\b|\bnpm\b/);
  });

  it('starts the production image with node on compiled JavaScript, in exec form so node gets SIGTERM', () => {
    const cmd = instructionsOf(production, 'CMD').at(-1);
    const args = JSON.parse(cmd?.getRawArgumentsContent() ?? 'null') as string[];
    expect(args[0]).toBe('node');
    expect(args[1]).toMatch(/\.js$/);
  });

  it('copies only files that exist in the build context, for every artifact built with it', () => {
    for (const args of buildArgsOf(dockerfile)) {
      for (const stage of stages) {
        const fromContext = instructionsOf(stage, 'COPY').filter((copy) => flagsOf(copy).from === undefined);
        for (const source of fromContext.flatMap((copy) => argumentsOf(copy).slice(0, -1))) {
          const file = substitute(source, args);
          expect({ file, exists: existsInRepo(file) }).toEqual({ file, exists: true });
        }
      }
    }
  });

  it('declares every build argument skaffold passes', () => {
    const declared = stages.flatMap((stage) =>
      instructionsOf(stage, 'ARG').map((arg) => argumentsOf(arg)[0]?.split('=')[0]),
    );
    for (const args of buildArgsOf(dockerfile)) {
      for (const name of Object.keys(args)) expect(declared).toContain(name);
    }
  });
});

describe('.dockerignore', () => {
  const patterns = readText('.dockerignore')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));

  it('keeps dependencies, build output, data and the git history out of the build context', () => {
    expect(patterns).toEqual(expect.arrayContaining(['**/node_modules', '**/dist', '**/dist-server', 'data', '.git']));
  });

  it('keeps in everything the Dockerfiles copy', () => {
    const copied = ['package.json', 'package-lock.json', 'tsconfig.base.json', 'common', ...artifacts.map(workspaceOf)];
    for (const entry of copied) {
      expect(patterns).not.toContain(entry);
      expect(patterns).not.toContain(`${entry}/`);
    }
  });
});
