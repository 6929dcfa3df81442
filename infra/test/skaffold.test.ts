import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv from 'ajv';
import { SERVICE_NAMES, SERVICES } from '@mini-blog/common/registry';
import { parse } from 'yaml';
import { copiedFolders, globToRegExp, syncTargetsNotOwned, unsyncedSources } from './support/dev-sync';
import { readStages } from './support/dockerfile';
import {
  existsInRepo,
  K8S,
  loadSkaffold,
  readYamlDocuments,
  ROOT,
  skaffoldVariants,
  workspaceFolders,
  workspaceOf,
  type K8sObject,
} from './support/repository';

const config = loadSkaffold();
const variants = skaffoldVariants(config);
const workspaces = workspaceFolders();

/** The files a kustomization pulls in, following directory resources (overlays) and components down to their bases. */
function resourceFiles(dir: string): string[] {
  const kustomization = parse(readFileSync(path.join(dir, 'kustomization.yaml'), 'utf8')) as {
    resources?: string[];
    components?: string[];
  };
  return [...(kustomization.resources ?? []), ...(kustomization.components ?? [])].flatMap((resource) => {
    const target = path.resolve(dir, resource);
    return existsInRepo(path.relative(ROOT, path.join(target, 'kustomization.yaml')))
      ? resourceFiles(target)
      : [target];
  });
}

function deployedImages(manifests: (typeof variants)[number]['manifests']): string[] {
  const objects = (manifests.kustomize?.paths ?? []).flatMap((dir) =>
    resourceFiles(path.join(ROOT, dir)).flatMap((file) => readYamlDocuments(file) as K8sObject[]),
  );
  return (
    objects
      .filter((object) => object.kind === 'Deployment' || object.kind === 'StatefulSet')
      .flatMap((object) =>
        (object.spec?.template as { spec: { containers: { image: string }[] } }).spec.containers.map(
          (container) => container.image,
        ),
      )
      // A pinned image from a registry (nats:2.14.2-alpine) is pulled, not built.
      .filter((image) => !image.includes(':'))
  );
}

describe('skaffold.yaml', () => {
  it('validates against the official skaffold/v4beta13 JSON schema', () => {
    const schema = JSON.parse(
      readFileSync(path.join(ROOT, 'infra', 'schemas', 'skaffold-v4beta13.json'), 'utf8'),
    ) as object;
    const ajv = new Ajv({ strict: false, allErrors: true });
    const valid = ajv.validate(schema, config);

    expect(ajv.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
    expect(config.apiVersion).toBe('skaffold/v4beta13');
  });

  it('deploys with kubectl and builds into the local image store, never pushing', () => {
    expect(Object.keys(config.deploy)).toEqual(['kubectl']);
    for (const variant of variants) expect(variant.build.local?.push).toBe(false);
  });

  it.each(variants.map((variant) => [variant.name, variant] as const))(
    'checks the cluster for the routing it deploys, then creates the credentials Secret if missing, before every deploy (%s)',
    (_name, variant) => {
      const before = variant.deploy.kubectl?.hooks?.before ?? [];
      const routedByGateway = (variant.manifests.kustomize?.paths ?? []).some((dir) =>
        dir.startsWith('infra/k8s-gateway-api'),
      );

      expect(before.map((hook) => hook.host?.command)).toEqual([
        ['node', 'infra/scripts/cluster-check.mjs', ...(routedByGateway ? ['--gateway'] : [])],
        ['node', 'infra/scripts/ensure-credentials.mjs'],
      ]);
      for (const hook of before) expect(existsInRepo(hook.host?.command[1] ?? '')).toBe(true);
    },
  );

  it('has a gateway-api profile: the dev loop routed by the Gateway API overlay', () => {
    const gateway = variants.find((variant) => variant.name === 'gateway-api');
    const dev = variants.find((variant) => variant.name === 'default');

    expect(gateway?.manifests.kustomize?.paths).toEqual(['infra/k8s-gateway-api/dev']);
    expect(gateway?.build).toEqual(dev?.build);
  });

  it('has a production profile that builds the final stage of every Dockerfile and deploys infra/k8s unchanged', () => {
    const prod = variants.find((variant) => variant.name === 'prod');

    expect(prod?.manifests.kustomize?.paths).toEqual(['infra/k8s']);
    for (const artifact of prod?.build.artifacts ?? []) {
      expect(artifact.docker?.target).toBeUndefined();
      expect(artifact.sync).toBeUndefined();
    }
  });

  describe.each(variants)('the $name configuration', ({ build, manifests }) => {
    it('renders kustomizations that exist', () => {
      for (const dir of manifests.kustomize?.paths ?? []) expect(existsInRepo(`${dir}/kustomization.yaml`)).toBe(true);
    });

    it('builds exactly the images the manifests deploy, each once', () => {
      const images = build.artifacts.map((artifact) => artifact.image);

      expect(new Set(images).size).toBe(images.length);
      expect([...new Set(deployedImages(manifests))].sort()).toEqual([...images].sort());
    });

    it.each(build.artifacts.map((artifact) => [artifact.image, artifact] as const))(
      'builds %s from the repository root with a Dockerfile that exists',
      (_image, artifact) => {
        const dockerfile = artifact.docker?.dockerfile ?? 'Dockerfile';

        expect(artifact.context).toBe('.');
        expect(existsInRepo(dockerfile)).toBe(true);
        if (artifact.docker?.target)
          expect(readStages(dockerfile).map((stage) => stage.name)).toContain(artifact.docker.target);
        expect(workspaces).toContain(workspaceOf(artifact));
        expect(existsInRepo(`${workspaceOf(artifact)}/package.json`)).toBe(true);
      },
    );
  });

  describe('file sync for skaffold dev', () => {
    const artifacts = variants.find((variant) => variant.name === 'default')?.build.artifacts ?? [];

    it.each(artifacts.map((artifact) => [artifact.image, artifact] as const))(
      'syncs every source file of every folder the Dockerfile of %s copies, so that no source edit rebuilds it',
      (_image, artifact) => {
        expect(copiedFolders(artifact)).toEqual(expect.arrayContaining(['common', workspaceOf(artifact)]));
        expect(unsyncedSources(artifact)).toEqual([]);
      },
    );

    it.each(artifacts.map((artifact) => [artifact.image, artifact] as const))(
      'lets the user of the %s dev container write every folder the sync extracts into',
      (_image, artifact) => {
        expect(syncTargetsNotOwned(artifact, '1000:1000')).toEqual([]);
      },
    );

    it('notices an artifact that copies common but does not sync it', () => {
      const client = artifacts.find((artifact) => artifact.image === 'mini-blog/client');
      const withoutCommon = {
        ...client!,
        sync: { manual: client!.sync!.manual!.filter((rule) => !rule.src.startsWith('common/')) },
      };

      expect(unsyncedSources(withoutCommon)).toContain('common/src/registry.ts');
    });

    it('notices a sync into a folder the dev image leaves to root', () => {
      const posts = artifacts.find((artifact) => artifact.image === 'mini-blog/posts');
      const intoRoot = { ...posts!, sync: { manual: [{ src: 'posts/package.json', dest: '/app' }] } };

      expect(syncTargetsNotOwned(intoRoot, '1000:1000')).toEqual(['posts']);
    });

    it.each(artifacts.map((artifact) => [artifact.image, artifact] as const))(
      'syncs the sources of %s into its dev container',
      (_image, artifact) => {
        const rules = artifact.sync?.manual ?? [];

        expect(artifact.docker?.target).toBe('dev');
        expect(rules.some((rule) => rule.src.startsWith(`${workspaceOf(artifact)}/`))).toBe(true);
        for (const rule of rules) {
          // Each image keeps the repository layout under /app, so a source path needs no strip.
          expect(rule.dest).toBe('/app');
          const staticPart = rule.src.split('*')[0] ?? '';
          const dir = staticPart.endsWith('/') ? staticPart : path.dirname(staticPart);
          expect(readdirSync(path.join(ROOT, dir)).length).toBeGreaterThan(0);
        }
      },
    );
  });

  it('names as SERVICE only workspaces with a service entry point, every backend of the registry among them', () => {
    const services = config.build.artifacts
      .map((artifact) => artifact.docker?.buildArgs?.SERVICE)
      .filter((service) => service !== undefined);
    const backends = SERVICE_NAMES.filter((name) => SERVICES[name].script === `${name}/dist/index.js`);

    expect([...services].sort()).toEqual([...backends].sort());
    for (const service of services) expect(existsInRepo(`${service}/src/index.ts`)).toBe(true);
  });

  it('deploys from infra/k8s, the folder the local gateway reads its routes from (or its Gateway API routing, or the JetStream transport or the tracing component, which route nothing)', () => {
    const dirs = variants.flatMap((variant) => variant.manifests.kustomize?.paths ?? []);
    const routes = path.join(ROOT, 'infra', 'k8s-gateway-api', 'routes');
    const jetstream = path.join(ROOT, 'infra', 'k8s-jetstream', 'transport');
    const tracing = path.join(ROOT, 'infra', 'k8s-tracing', 'observability');
    for (const dir of dirs)
      expect(
        resourceFiles(path.join(ROOT, dir)).filter(
          (file) => ![K8S, routes, jetstream, tracing].includes(path.dirname(file)),
        ),
      ).toEqual([]);
  });
});

describe('globToRegExp (skaffold sync globs)', () => {
  it.each([
    ['common/src/**', 'common/src/registry.ts', true],
    ['common/src/**', 'common/src/events/catalog.ts', true],
    ['common/src/**/*.ts', 'common/src/registry.ts', true],
    ['common/src/**/*.ts', 'common/src/events/catalog.ts', true],
    ['common/src/**/*.ts', 'common/src/styles/app.css', false],
    ['client/src/*.ts', 'client/src/features/app.ts', false],
    ['client/index.html', 'client/index.html', true],
    ['client/index.html', 'client/indexXhtml', false],
    ['common/src/**', 'common/srcs/x.ts', false],
  ])('%s matches %s: %s', (glob, file, matches) => {
    expect(globToRegExp(glob).test(file)).toBe(matches);
  });
});
