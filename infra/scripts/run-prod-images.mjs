#!/usr/bin/env node
// Runs the production images together under Docker with the settings of the manifests, and checks
// the event chain end to end: a post created on posts reaches query's view, and a comment goes
// through moderation to query. Each Deployment and StatefulSet of infra/k8s (as `kubectl kustomize`
// renders it) becomes a container on one network, reachable by its Services' names, with the
// manifest's env (ConfigMap keys resolved), user, read-only root filesystem, emptyDir as tmpfs,
// each claimed volume (the bus's log, the projections) as a new named volume of its own, and
// Secret volumes as read-only folders holding only their `items` (the Secret mini-blog-credentials
// is generated, as ensure-credentials.mjs does).
// Before the chain it checks that the bus refuses a publish without a credential (401) and serves
// its views on their own port.
// Needs docker, kubectl (for kustomize), `npm ci` (for yaml) and the images mini-blog/<name>:prod
// (infra/scripts/build-images.sh). From the repository root:
//   node infra/scripts/run-prod-images.mjs          run, check, remove everything
//   node infra/scripts/run-prod-images.mjs --keep   leave it running (prints how to remove it)
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { PRINCIPALS } from './registry.mjs';

const run = `mb-prod-${process.pid}`;
const keep = process.argv.includes('--keep');
const work = mkdtempSync(path.join(tmpdir(), `${run}-`));
const secrets = {
  'mini-blog-credentials': Object.fromEntries(
    PRINCIPALS.map((principal) => [principal, randomBytes(32).toString('base64url')]),
  ),
};

function sh(command, args, { allowFailure = false } = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0 && !allowFailure)
    throw new Error(`${command} ${args.join(' ')}: ${result.stderr || result.error?.message}`);
  return result.stdout.trim();
}

const objects = parseAllDocuments(sh('kubectl', ['kustomize', 'infra/k8s'])).map((document) => document.toJS());
const configMaps = Object.fromEntries(
  objects.filter((o) => o.kind === 'ConfigMap').map((o) => [o.metadata.name, o.data ?? {}]),
);
const services = objects.filter((o) => o.kind === 'Service');
const workloads = objects.filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet');
// The bus first: every other service reads its log at start.
workloads.sort((a, b) => (b.metadata.name === 'event-bus') - (a.metadata.name === 'event-bus'));
/** The named volumes made for the claims, one per workload and claim, removed at the end. */
const namedVolumes = [];

function envOf(container) {
  return (container.env ?? []).map(({ name, value, valueFrom }) => {
    if (valueFrom?.configMapKeyRef) {
      const { name: map, key } = valueFrom.configMapKeyRef;
      const resolved = configMaps[map]?.[key];
      if (resolved === undefined) throw new Error(`${container.name}: ${name}: ConfigMap ${map} has no key ${key}`);
      return `${name}=${resolved}`;
    }
    if (valueFrom?.secretKeyRef)
      return `${name}=${secrets[valueFrom.secretKeyRef.name]?.[valueFrom.secretKeyRef.key] ?? ''}`;
    return `${name}=${value ?? ''}`;
  });
}

/** The `docker run` flags for one volume mount of a pod. */
function mountOf(workload, volumes, mount) {
  const volume = volumes.find((candidate) => candidate.name === mount.name);
  if (volume?.emptyDir) return ['--tmpfs', `${mount.mountPath}:mode=1777`];
  if (volume?.secret || volume?.configMap) {
    const source = volume.secret ? secrets[volume.secret.secretName] : configMaps[volume.configMap.name];
    if (!source)
      throw new Error(
        `${workload.metadata.name}: no ${volume.secret ? 'Secret' : 'ConfigMap'} for volume ${mount.name}`,
      );
    const dir = path.join(work, workload.metadata.name, mount.name);
    mkdirSync(dir, { recursive: true });
    const items = (volume.secret ?? volume.configMap).items ?? Object.keys(source).map((key) => ({ key, path: key }));
    for (const { key, path: file } of items) {
      if (source[key] === undefined)
        throw new Error(`${workload.metadata.name}: volume ${mount.name} has no key ${key}`);
      writeFileSync(path.join(dir, file), source[key]);
      chmodSync(path.join(dir, file), 0o644);
    }
    chmodSync(dir, 0o755);
    return ['-v', `${dir}:${mount.mountPath}:ro`];
  }
  const claim = (workload.spec.volumeClaimTemplates ?? []).find((template) => template.metadata.name === mount.name);
  if (claim) {
    const named = `${run}-${workload.metadata.name}-${mount.name}`;
    namedVolumes.push(named);
    return ['-v', `${named}:${mount.mountPath}`];
  }
  throw new Error(`${workload.metadata.name}: volume ${mount.name} is of a kind this script does not run`);
}

const containers = [];
function cleanup() {
  if (keep) {
    process.stdout.write(
      `left running; remove with:\n  docker rm -f ${containers.join(' ')}; docker network rm ${run}; docker volume rm ${namedVolumes.join(' ')}\n`,
    );
    return;
  }
  if (containers.length > 0) sh('docker', ['rm', '-f', ...containers], { allowFailure: true });
  sh('docker', ['network', 'rm', run], { allowFailure: true });
  if (namedVolumes.length > 0) sh('docker', ['volume', 'rm', ...namedVolumes], { allowFailure: true });
  rmSync(work, { recursive: true, force: true });
}

async function waitFor(what, check, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch {
      // Not there yet.
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function main() {
  sh('docker', ['network', 'create', run]);
  const urls = {};
  for (const workload of workloads) {
    const name = workload.metadata.name;
    const pod = workload.spec.template.spec;
    const [container] = pod.containers;
    const labels = workload.spec.template.metadata.labels;
    const aliases = services
      .filter((service) => Object.entries(service.spec.selector).every(([key, value]) => labels[key] === value))
      .map((service) => service.metadata.name);
    const user =
      pod.securityContext?.runAsUser === undefined
        ? []
        : [
            '--user',
            `${pod.securityContext.runAsUser}:${pod.securityContext.runAsGroup ?? pod.securityContext.runAsUser}`,
          ];
    const args = [
      'run',
      '-d',
      '--name',
      `${run}-${name}`,
      '--network',
      run,
      ...aliases.flatMap((alias) => ['--network-alias', alias]),
      ...user,
      ...(container.securityContext?.readOnlyRootFilesystem ? ['--read-only'] : []),
      ...(container.securityContext?.capabilities?.drop?.includes('ALL') ? ['--cap-drop', 'ALL'] : []),
      ...(container.securityContext?.allowPrivilegeEscalation === false ? ['--security-opt', 'no-new-privileges'] : []),
      ...(container.resources?.limits?.memory
        ? ['--memory', container.resources.limits.memory.replace(/i$/, '').toLowerCase()]
        : []),
      ...envOf(container).flatMap((variable) => ['-e', variable]),
      ...(container.volumeMounts ?? []).flatMap((mount) => mountOf(workload, pod.volumes ?? [], mount)),
      `${container.image}:prod`,
    ];
    sh('docker', args);
    containers.push(`${run}-${name}`);
    const ip = sh('docker', [
      'inspect',
      '-f',
      `{{(index .NetworkSettings.Networks "${run}").IPAddress}}`,
      `${run}-${name}`,
    ]);
    const port =
      container.ports?.find((entry) => entry.name === 'http')?.containerPort ?? container.ports?.[0]?.containerPort;
    urls[name] = `http://${ip}:${port}`;
    const started = Date.now();
    await waitFor(`${name} to be ready`, async () => (await fetch(`${urls[name]}/readyz`)).ok).catch((err) => {
      throw new Error(
        `${err.message}; its log:\n${sh('docker', ['logs', '--tail', '30', `${run}-${name}`], { allowFailure: true })}`,
      );
    });
    process.stdout.write(`${name.padEnd(10)} ready after ${Date.now() - started} ms (${aliases.join(', ')})\n`);
  }

  // The bus takes nothing without a credential; its views (what the ingress reaches) need none.
  const anonymous = await fetch(`${urls['event-bus']}/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '[]',
  });
  if (anonymous.status !== 401) throw new Error(`POST /events without a credential: ${anonymous.status}, expected 401`);
  const busIp = new URL(urls['event-bus']).hostname;
  const viewsPort = workloads
    .find((w) => w.metadata.name === 'event-bus')
    .spec.template.spec.containers[0].ports.find((p) => p.name === 'views')?.containerPort;
  if (viewsPort !== undefined && !(await fetch(`http://${busIp}:${viewsPort}/subscriptions`)).ok)
    throw new Error('GET /subscriptions on the views port failed');
  process.stdout.write(
    `event-bus  refuses POST /events without a credential (401); /subscriptions answers on port ${viewsPort}\n`,
  );

  const started = Date.now();
  const created = await fetch(`${urls.posts}/posts/create`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ title: 'from the production images' }),
  });
  if (created.status !== 201) throw new Error(`POST /posts/create: ${created.status} ${await created.text()}`);
  const { id } = await created.json();
  const view = async () => (await (await fetch(`${urls.query}/posts`)).json())[id];
  await waitFor(`post ${id} in query's view`, view);
  process.stdout.write(`post -> query: the post is in GET /posts after ${Date.now() - started} ms\n`);

  const commented = Date.now();
  const comment = await fetch(`${urls.comments}/posts/${id}/comments`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ content: 'a fine post' }),
  });
  if (comment.status !== 201) throw new Error(`POST /posts/${id}/comments: ${comment.status} ${await comment.text()}`);
  await waitFor("the comment to be approved in query's view", async () =>
    (await view())?.comments?.some((entry) => entry.status === 'approved'),
  );
  process.stdout.write(`comment -> moderation -> query: approved in GET /posts after ${Date.now() - commented} ms\n`);
}

main().then(
  () => {
    cleanup();
  },
  (err) => {
    process.stderr.write(`run-prod-images: ${err.message}\n`);
    cleanup();
    process.exit(1);
  },
);
