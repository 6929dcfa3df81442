import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { SERVICE_NAMES } from '@mini-blog/common/registry';
import { hasKubectl } from './support/kustomize';
import { ROOT } from './support/repository';

/**
 * infra/scripts/run-prod-images.mjs runs the manifests' pods as Docker containers; with --print it
 * shows each pod's `docker run` arguments and runs nothing, which these tests read.
 */
interface PodRun {
  pod: string;
  args: string[];
}

function plan(...args: string[]): PodRun[] {
  // From elsewhere than the repository: the script finds the kustomizations itself.
  const result = spawnSync(
    process.execPath,
    [path.join(ROOT, 'infra', 'scripts', 'run-prod-images.mjs'), '--print', ...args],
    { encoding: 'utf8', cwd: path.join(ROOT, 'infra') },
  );
  if (result.status !== 0) throw new Error(`run-prod-images.mjs --print ${args.join(' ')}: ${result.stderr}`);
  return result.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as PodRun);
}
/** The values of a repeated flag (-e, --network-alias) in a pod's arguments. */
const valuesOf = (run: PodRun, flag: string) => run.args.flatMap((arg, i) => (run.args[i - 1] === flag ? [arg] : []));
const envOf = (run: PodRun) => Object.fromEntries(valuesOf(run, '-e').map((entry) => entry.split(/=(.*)/s, 2)));
/** What follows the image: the command's rest and the args. */
const afterImage = (run: PodRun, image: string) => run.args.slice(run.args.indexOf(image) + 1);

(hasKubectl ? describe : describe.skip)('infra/scripts/run-prod-images.mjs --print', () => {
  it('runs each pod of infra/k8s from its prod image, the bus first, leaving an optional missing key unset', () => {
    const runs = plan();
    expect(runs[0].pod).toBe('event-bus-0');
    expect(runs.map((run) => run.pod.replace(/-[0-9a-f]{6}$|-\d+$/, '')).sort()).toEqual([...SERVICE_NAMES].sort());
    for (const run of runs) {
      expect(run.args.find((arg) => arg.startsWith('mini-blog/'))).toMatch(/:prod$/);
      // The tracing endpoint is an optional ConfigMap key, which infra/k8s does not set.
      expect(envOf(run)).not.toHaveProperty('OTEL_EXPORTER_OTLP_ENDPOINT');
    }
    expect(valuesOf(runs[0], '--network-alias')).toEqual(['event-bus-srv', 'event-bus-0.event-bus-srv']);
  });

  it('runs infra/k8s-jetstream: three NATS nodes first, routed by name, and every replica with its pod name', () => {
    const runs = plan('--jetstream', '--image', 'nats:2.14.2-alpine=nats-standin');
    expect(runs.slice(0, 3).map((run) => run.pod)).toEqual(['nats-0', 'nats-1', 'nats-2']);
    const [nats0] = runs;
    expect(valuesOf(nats0, '--network-alias')).toEqual(['nats', 'nats-headless', 'nats-0.nats-headless']);
    // The substitute image, with the manifest's args; $(ROUTE_PASSWORD) expanded from the pod's env.
    const routes = afterImage(nats0, 'nats-standin');
    expect(routes.slice(0, 3)).toEqual(['--config', '/etc/nats-config/nats.conf', '--routes']);
    const password = envOf(nats0).ROUTE_PASSWORD;
    expect(password).toMatch(/^[\w-]{43}$/);
    expect(routes[3]).toBe(
      [0, 1, 2].map((n) => `nats-route://route:${password}@nats-${n}.nats-headless:6222`).join(','),
    );
    expect(envOf(nats0).SERVER_NAME).toBe('nats-0');
    expect(runs.find((run) => run.pod.startsWith('event-bus'))).toBeUndefined();

    for (const service of ['comments', 'moderation', 'query']) {
      const pods = runs.filter((run) => run.pod.startsWith(`${service}-`));
      expect(pods.map((run) => run.pod)).toEqual([`${service}-0`, `${service}-1`]);
      for (const run of pods) {
        expect(envOf(run)).toMatchObject({ BUS_TRANSPORT: 'jetstream', REPLICA_ID: run.pod });
        // A claim of its own per pod.
        expect(valuesOf(run, '-v').filter((volume) => volume.endsWith(':/data'))).toEqual([
          expect.stringMatching(new RegExp(`-${run.pod}-data:/data$`)),
        ]);
      }
    }
    // The views run the posts image with their own command in place of its entrypoint.
    const views = runs.filter((run) => run.pod.startsWith('event-views-'));
    expect(views).toHaveLength(2);
    expect(valuesOf(views[0], '--entrypoint')).toEqual(['node']);
    expect(afterImage(views[0], 'mini-blog/posts:prod')).toEqual([
      '/app/common/dist/transport/jetstream/views-server.js',
    ]);
  });

  it('refuses an argument it does not know', () => {
    const result = spawnSync(
      process.execPath,
      [path.join(ROOT, 'infra', 'scripts', 'run-prod-images.mjs'), '--jetstrem'],
      {
        encoding: 'utf8',
      },
    );
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('unknown argument --jetstrem');
  });
});
