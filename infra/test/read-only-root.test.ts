import path from 'node:path';
import { syncDestination } from './support/dev-sync';
import { schemaErrors, unknownFieldErrors } from './support/kubernetes-schemas';
import { hasKubectl, kubectlKustomize } from './support/kustomize';
import { kustomizationDirs, mountAt, podSpecOf, seedOf, whyNotWritable, unconfinedContainers } from './support/pods';
import {
  K8S_DEV,
  loadSkaffold,
  ROOT,
  skaffoldVariants,
  workloadsOf,
  type Container,
  type K8sObject,
  type PodSpec,
  type Workload,
} from './support/repository';

/**
 * Every container runs on a read-only root filesystem, in every variant, the dev loop's included:
 * what `skaffold dev` copies into a container, and what its watchers write, lands on volumes of the
 * pod that an init container first fills with the image's own files.
 */

const dirs = kustomizationDirs(path.join(ROOT, 'infra'));
const fromRoot = (dir: string) => path.relative(ROOT, dir);
const variants = skaffoldVariants(loadSkaffold());
const devVariants = variants.filter((variant) => variant.build.artifacts.some((artifact) => artifact.sync));

describe('the kustomizations under infra', () => {
  it('include the base and every variant skaffold deploys', () => {
    const deployed = variants.flatMap((variant) => variant.manifests.kustomize?.paths ?? []);

    expect(dirs.map(fromRoot)).toEqual(expect.arrayContaining(['infra/k8s', ...deployed]));
  });
});

describe('unconfinedContainers', () => {
  const confined = {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ['ALL'] },
  };
  const container = (securityContext: Container['securityContext'], name = 'app'): Container => ({
    name,
    image: 'mini-blog/posts',
    securityContext,
  });
  const workload = (spec: PodSpec): K8sObject => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'posts' },
    spec: { template: { spec } },
  });

  it('names each container or init container and what it lacks: a read-only root, no escalation, no capability, a non-root user', () => {
    const objects = [
      workload({
        securityContext: { runAsNonRoot: true },
        initContainers: [container({ ...confined, readOnlyRootFilesystem: false }, 'seed')],
        containers: [container({ allowPrivilegeEscalation: false })],
      }),
      workload({ containers: [container(confined)] }),
      workload({ containers: [container({ ...confined, runAsNonRoot: true })] }),
    ];

    expect(unconfinedContainers(objects)).toEqual([
      'Deployment/posts seed: readOnlyRootFilesystem',
      'Deployment/posts app: readOnlyRootFilesystem, capabilities',
      'Deployment/posts app: runAsNonRoot',
    ]);
  });
});

(hasKubectl ? describe : describe.skip)('every container of every kustomization', () => {
  const rendered = dirs.map((dir) => [fromRoot(dir), kubectlKustomize(dir)] as const);

  it.each(rendered)(
    '%s: every container and init container has a read-only root filesystem, no privilege escalation, no capability, a non-root user',
    (_dir, objects) => {
      expect(objects.filter((object) => podSpecOf(object)).length).toBeGreaterThan(0);
      expect(unconfinedContainers(objects)).toEqual([]);
    },
  );
});

(hasKubectl ? describe : describe.skip)('skaffold dev: the sync writes on volumes seeded from the image', () => {
  /** Every container that runs an image skaffold syncs into (skaffold copies into every running container of that image), per dev variant. */
  const cases = devVariants.flatMap((variant) => {
    const objects = (variant.manifests.kustomize?.paths ?? []).flatMap((dir) => kubectlKustomize(path.join(ROOT, dir)));
    return workloadsOf(objects).flatMap((workload) =>
      workload.pod.containers.flatMap((container) => {
        const rules = variant.build.artifacts.find((artifact) => artifact.image === container.image)?.sync?.manual;
        return rules ? [[variant.name, `${workload.name}/${container.name}`, workload, container, rules] as const] : [];
      }),
    );
  });
  const devOverlay = workloadsOf(kubectlKustomize(K8S_DEV));

  it('finds the containers of every synced image that a dev variant runs (on JetStream, no bus)', () => {
    for (const variant of devVariants) {
      const synced = variant.build.artifacts.filter((artifact) => artifact.sync).map((artifact) => artifact.image);
      const running = new Set(
        cases.filter(([name]) => name === variant.name).map(([, , , container]) => container.image),
      );
      const expected =
        variant.name === 'jetstream' ? synced.filter((image) => image !== 'mini-blog/event-bus') : synced;
      expect([...running].sort()).toEqual(expected.sort());
    }
  });

  it.each(cases)(
    '%s: %s can write in every folder its sync rules write into',
    (_variant, _container, workload, container, rules) => {
      expect(
        rules.map((rule) => whyNotWritable(workload, container, syncDestination(rule))).filter((why) => why),
      ).toEqual([]);
    },
  );

  it.each(cases)(
    "%s: %s starts with the image's own files in each of those folders",
    (_variant, _container, workload, container, rules) => {
      const mounts = [...new Set(rules.map((rule) => mountAt(container, syncDestination(rule))))].filter(
        (mount) => mount && workload.pod.volumes?.find((volume) => volume.name === mount.name)?.emptyDir,
      );

      expect(mounts.length).toBeGreaterThan(0);
      for (const mount of mounts)
        expect({ folder: mount!.mountPath, seededFrom: seedOf(workload, container, mount!) }).toEqual({
          folder: mount!.mountPath,
          seededFrom: mount!.mountPath,
        });
    },
  );

  it.each(devVariants.map((variant) => [variant.name, variant] as const))(
    '%s renders workloads valid against the Kubernetes schemas, with no unknown field',
    (_name, variant) => {
      const objects = (variant.manifests.kustomize?.paths ?? [])
        .flatMap((dir) => kubectlKustomize(path.join(ROOT, dir)))
        .filter((object) => object.kind === 'Deployment' || object.kind === 'StatefulSet');

      expect(
        objects.flatMap((object) =>
          schemaErrors(object).map((error) => `${object.kind} ${object.metadata.name}: ${error}`),
        ),
      ).toEqual([]);
      expect(unknownFieldErrors(objects)).toEqual([]);
    },
  );

  describe('the checks notice', () => {
    const posts = devOverlay.find((workload) => workload.name === 'posts') as Workload;
    const container = posts.pod.containers[0] as Container;
    const source = { src: 'posts/src/**', dest: '/app' };

    it('a sync into a folder on the root filesystem', () => {
      const bare = { ...container, volumeMounts: container.volumeMounts?.filter((mount) => !mount.subPath) };

      expect(whyNotWritable(posts, bare, syncDestination(source))).toBe('/app/posts/src is on the root filesystem');
    });

    it("a sync into a folder mounted read-only, or on a volume that is not the pod's own storage", () => {
      const readOnly = {
        ...container,
        volumeMounts: container.volumeMounts?.map((mount) => (mount.subPath ? { ...mount, readOnly: true } : mount)),
      };
      const secret = {
        ...posts,
        pod: {
          ...posts.pod,
          volumes: posts.pod.volumes?.map((volume) =>
            volume.emptyDir && volume.name === mountAt(container, '/app/posts')?.name
              ? { name: volume.name, secret: { secretName: 'x' } }
              : volume,
          ),
        },
      };

      expect(whyNotWritable(posts, readOnly, '/app/posts/src')).toBe(
        '/app/posts/src is on /app/posts, mounted read-only',
      );
      expect(whyNotWritable(secret, container, '/app/posts/src')).toMatch(/neither an emptyDir nor a claim/);
    });

    it('an emptyDir over a folder of the image that nothing fills, or fills from another image', () => {
      const mount = mountAt(container, '/app/posts/src')!;
      const unseeded = { ...posts, pod: { ...posts.pod, initContainers: [] } };
      const otherImage = {
        ...posts,
        pod: {
          ...posts.pod,
          initContainers: posts.pod.initContainers?.map((init) => ({ ...init, image: 'mini-blog/comments' })),
        },
      };

      expect(seedOf(posts, container, mount)).toBe('/app/posts');
      expect(seedOf(unseeded, container, mount)).toBeUndefined();
      expect(seedOf(otherImage, container, mount)).toBeUndefined();
    });
  });
});
