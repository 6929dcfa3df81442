#!/usr/bin/env node
// Runs the production images together under Docker with the settings of the manifests, and checks
// the event chain end to end: a post created on posts reaches query's view, and a comment goes
// through moderation to query. Each Deployment and StatefulSet of infra/k8s (as `kubectl kustomize`
// renders it) becomes a container on one network, reachable by its Services' names, with the
// manifest's env (ConfigMap keys resolved), user, read-only root filesystem, emptyDir as a new named volume (mode 0777),
// each claimed volume (the bus's log, the projections) as a new named volume of its own, and
// Secret volumes as read-only folders holding only their `items` (the Secret mini-blog-credentials
// is generated, as ensure-credentials.mjs does).
// Each replica is a container of its own, named as its pod would be (a StatefulSet's <name>-<ordinal>,
// reachable as <pod>.<serviceName> too), with the pod's fields (metadata.name) in its env, $(VAR)
// in its command and args expanded from that env as the kubelet does, and fsGroup applied to its
// claimed volumes. Workloads start in order, the event log first (the bus, or the NATS nodes), and
// a StatefulSet's pods one at a time unless its podManagementPolicy is Parallel.
// Before the chain it checks the event log's door: on the HTTP bus, that the bus refuses a publish
// without a credential (401) and serves its views on their own port; on JetStream, that NATS
// refuses a connection without a credential, that its nodes are routed to one another, and that
// the views answer.
// Needs docker, kubectl (for kustomize), `npm ci` (for yaml) and the images mini-blog/<name>:prod
// (infra/scripts/build-images.sh). From the repository root:
//   node infra/scripts/run-prod-images.mjs              infra/k8s: run, check, remove everything
//   node infra/scripts/run-prod-images.mjs --keep       leave it running (prints how to remove it)
//   node infra/scripts/run-prod-images.mjs --jetstream  infra/k8s-jetstream: the services on NATS
//   --image nats:2.14.2-alpine=<image>                  run another image in place of one the
//                                                       manifests name (repeatable)
//   --print                                             print each pod's `docker run` arguments
//                                                       (JSON, a line each) and run nothing
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { JETSTREAM_PRINCIPALS, PRINCIPALS } from './registry.mjs';

const options = { keep: false, print: false, kustomization: 'infra/k8s', images: new Map() };
for (let i = 2; i < process.argv.length; i++) {
  const arg = process.argv[i];
  if (arg === '--keep') options.keep = true;
  else if (arg === '--print') options.print = true;
  else if (arg === '--jetstream') options.kustomization = 'infra/k8s-jetstream';
  else if (arg === '--image' && /^[^=]+=[^=]+$/.test(process.argv[i + 1] ?? '')) {
    const [from, to] = process.argv[++i].split('=');
    options.images.set(from, to);
  } else {
    process.stderr.write(
      `run-prod-images: unknown argument ${arg} (--keep, --jetstream, --image <from>=<to>, --print)\n`,
    );
    process.exit(2);
  }
}

// The kustomizations' paths are the repository's.
process.chdir(fileURLToPath(new URL('../..', import.meta.url)));
const run = `mb-prod-${process.pid}`;
const work = mkdtempSync(path.join(tmpdir(), `${run}-`));
const secrets = {
  'mini-blog-credentials': Object.fromEntries(
    [...PRINCIPALS, ...JETSTREAM_PRINCIPALS].map((principal) => [principal, randomBytes(32).toString('base64url')]),
  ),
};

function sh(command, args, { allowFailure = false } = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0 && !allowFailure)
    throw new Error(`${command} ${args.join(' ')}: ${result.stderr || result.error?.message}`);
  return result.stdout.trim();
}

const objects = parseAllDocuments(sh('kubectl', ['kustomize', options.kustomization])).map((document) =>
  document.toJS(),
);
const configMaps = Object.fromEntries(
  objects.filter((o) => o.kind === 'ConfigMap').map((o) => [o.metadata.name, o.data ?? {}]),
);
const services = objects.filter((o) => o.kind === 'Service');
const workloads = objects.filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet');
// The event log first (the bus, or the NATS nodes): every other service reads it at start.
const isEventLog = (workload) => workload.metadata.labels?.['app.kubernetes.io/component'] === 'event-log';
workloads.sort((a, b) => isEventLog(b) - isEventLog(a));
/** The named volumes made for the claims and emptyDirs, one per pod and volume, removed at the end. */
const namedVolumes = [];

/** A pod's names: a StatefulSet's <name>-<ordinal>, a Deployment's <name>-<random>. */
function podNames(workload) {
  return Array.from({ length: workload.spec.replicas ?? 1 }, (_, ordinal) =>
    workload.kind === 'StatefulSet'
      ? `${workload.metadata.name}-${ordinal}`
      : `${workload.metadata.name}-${randomBytes(3).toString('hex')}`,
  );
}

/** $(VAR) replaced by the variable's value when it is defined, $$ by $, as the kubelet does. */
const expand = (text, variables) =>
  text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (match, name) =>
    match === '$$' ? '$' : name in variables ? variables[name] : match,
  );

/** The container's env for one pod, in order, each value expanded from the variables before it. */
function envOf(container, pod) {
  const variables = {};
  for (const { name, value, valueFrom } of container.env ?? []) {
    const ref = valueFrom?.configMapKeyRef ?? valueFrom?.secretKeyRef;
    if (ref) {
      const source = valueFrom.configMapKeyRef ? configMaps[ref.name] : secrets[ref.name];
      const resolved = source?.[ref.key];
      // An optional key that is missing leaves the variable unset, as on the cluster.
      if (resolved === undefined && ref.optional) continue;
      if (resolved === undefined)
        throw new Error(
          `${container.name}: ${name}: ${valueFrom.configMapKeyRef ? 'ConfigMap' : 'Secret'} ${ref.name} has no key ${ref.key}`,
        );
      variables[name] = resolved;
    } else if (valueFrom?.fieldRef) {
      const fields = { 'metadata.name': pod, 'metadata.namespace': 'default' };
      if (!(valueFrom.fieldRef.fieldPath in fields))
        throw new Error(
          `${container.name}: ${name}: field ${valueFrom.fieldRef.fieldPath} is not one this script sets`,
        );
      variables[name] = fields[valueFrom.fieldRef.fieldPath];
    } else {
      variables[name] = expand(value ?? '', variables);
    }
  }
  return variables;
}

/** The `docker run` flags for one volume mount of a pod; a claim or an emptyDir also goes into `claims`. */
function mountOf(workload, pod, mount, claims) {
  const volume = (workload.spec.template.spec.volumes ?? []).find((candidate) => candidate.name === mount.name);
  // Not a tmpfs: Docker 20.10 here mounts a tmpfs 0755 root whatever its mode option says, which
  // no uid 1000 process can write to. A named volume, made 0777 as the kubelet makes an emptyDir.
  if (volume?.emptyDir) {
    const named = `${run}-${pod}-${mount.name}`;
    claims.push({ volume: named, mountPath: mount.mountPath, emptyDir: true });
    return ['-v', `${named}:${mount.mountPath}`];
  }
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
    const named = `${run}-${pod}-${mount.name}`;
    claims.push({ volume: named, mountPath: mount.mountPath });
    return ['-v', `${named}:${mount.mountPath}`];
  }
  throw new Error(`${workload.metadata.name}: volume ${mount.name} is of a kind this script does not run`);
}

/** The image to run: a substitute given with --image, else the manifest's, its `prod` tag if it names none. */
function imageOf(image) {
  if (options.images.has(image)) return options.images.get(image);
  return /:[^/]+$/.test(image) ? image : `${image}:prod`;
}

/** What it takes to run one pod: its `docker run` arguments, its claims, and where to ask whether it is ready. */
function planPod(workload, pod) {
  const spec = workload.spec.template.spec;
  const [container] = spec.containers;
  const labels = workload.spec.template.metadata.labels;
  const aliases = services
    .filter((service) => Object.entries(service.spec.selector ?? {}).every(([key, value]) => labels[key] === value))
    .map((service) => service.metadata.name);
  // A StatefulSet's pod has a name of its own under its governing Service: nats-0.nats-headless.
  if (workload.kind === 'StatefulSet' && workload.spec.serviceName) aliases.push(`${pod}.${workload.spec.serviceName}`);
  const user =
    spec.securityContext?.runAsUser === undefined
      ? []
      : [
          '--user',
          `${spec.securityContext.runAsUser}:${spec.securityContext.runAsGroup ?? spec.securityContext.runAsUser}`,
        ];
  const env = envOf(container, pod);
  const claims = [];
  const mounts = (container.volumeMounts ?? []).flatMap((mount) => mountOf(workload, pod, mount, claims));
  // command replaces the image's entrypoint (and its CMD), args only its CMD.
  const [entrypoint, ...commandRest] = (container.command ?? []).map((part) => expand(part, env));
  const args = [
    'run',
    '-d',
    '--name',
    `${run}-${pod}`,
    '--hostname',
    pod,
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
    ...Object.entries(env).flatMap(([name, value]) => ['-e', `${name}=${value}`]),
    ...mounts,
    ...(entrypoint === undefined ? [] : ['--entrypoint', entrypoint]),
    imageOf(container.image),
    ...commandRest,
    ...(container.args ?? []).map((part) => expand(part, env)),
  ];
  // Ready as its readiness probe says; a container without one, when its port http answers /readyz.
  const probe = container.readinessProbe?.httpGet ?? { path: '/readyz', port: 'http' };
  const probePort =
    typeof probe.port === 'number'
      ? probe.port
      : (container.ports?.find((entry) => entry.name === probe.port)?.containerPort ??
        container.ports?.[0]?.containerPort);
  const fsGroup = spec.securityContext?.fsGroup;
  return {
    workload: workload.metadata.name,
    pod,
    aliases,
    args,
    claims,
    fsGroup,
    image: imageOf(container.image),
    probe: { path: probe.path, port: probePort },
  };
}

const containers = [];
function cleanup() {
  if (options.print) {
    rmSync(work, { recursive: true, force: true });
    return;
  }
  if (options.keep) {
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

/**
 * The pod's new named volumes, in one container: an emptyDir made 0777, a claim given the pod's
 * fsGroup as the kubelet gives it (fsGroupChangePolicy OnRootMismatch: only when its root has
 * another group): an image without the folder, such as nats', would otherwise leave it to root.
 * Docker first fills each from the image's own folder.
 */
function prepareVolumes({ claims, image, fsGroup }) {
  if (claims.length === 0) return;
  for (const { volume } of claims) {
    sh('docker', ['volume', 'create', volume]);
    namedVolumes.push(volume);
  }
  const script = claims
    .map(({ mountPath, emptyDir }) =>
      emptyDir
        ? `chmod 0777 ${mountPath}`
        : fsGroup === undefined
          ? 'true'
          : `{ [ "$(stat -c %g ${mountPath})" = ${fsGroup} ] || { chgrp -R ${fsGroup} ${mountPath} && chmod -R g+rwX ${mountPath} && chmod g+s ${mountPath}; }; }`,
    )
    .join(' && ');
  sh('docker', [
    'run',
    '--rm',
    '--network',
    'none',
    '--user',
    '0:0',
    '--entrypoint',
    'sh',
    ...claims.flatMap(({ volume, mountPath }) => ['-v', `${volume}:${mountPath}`]),
    image,
    '-c',
    script,
  ]);
}

/** Starts one pod's container (its claims made before); returns its address on the network and when it started. */
function start(plan) {
  const at = Date.now();
  sh('docker', plan.args);
  containers.push(`${run}-${plan.pod}`);
  const ip = sh('docker', [
    'inspect',
    '-f',
    `{{(index .NetworkSettings.Networks "${run}").IPAddress}}`,
    `${run}-${plan.pod}`,
  ]);
  return { ip, at };
}

async function waitReady(plan, ip, started) {
  await waitFor(
    `${plan.pod} to be ready`,
    async () => (await fetch(`http://${ip}:${plan.probe.port}${plan.probe.path}`)).ok,
  ).catch((err) => {
    throw new Error(
      `${err.message}; its log:\n${sh('docker', ['logs', '--tail', '30', `${run}-${plan.pod}`], { allowFailure: true })}`,
    );
  });
  process.stdout.write(`${plan.pod.padEnd(16)} ready after ${Date.now() - started} ms (${plan.aliases.join(', ')})\n`);
}

/** What a NATS server answers a client that connects without a credential: its first line after INFO. */
function natsAnswerWithoutCredential(host, port) {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    let text = '';
    let connectSent = false;
    socket.setTimeout(10_000, () => socket.destroy(new Error(`no answer from ${host}:${port}`)));
    socket.on('error', reject);
    socket.on('close', () =>
      reject(new Error(`NATS at ${host}:${port} closed the connection without an answer: ${text}`)),
    );
    socket.on('data', (chunk) => {
      text += chunk.toString('utf8');
      const lines = text.split('\r\n');
      if (!connectSent && lines[0].startsWith('INFO ')) {
        connectSent = true;
        socket.write('CONNECT {"verbose":false,"pedantic":false}\r\nPING\r\n');
      }
      const answer = lines.slice(1).find((line) => line.startsWith('-ERR') || line === 'PONG');
      if (answer) {
        resolve(answer);
        socket.destroy();
      }
    });
  });
}

async function main() {
  const plans = workloads.map((workload) => ({
    workload,
    pods: podNames(workload).map((pod) => planPod(workload, pod)),
  }));
  if (options.print) {
    for (const plan of plans.flatMap((entry) => entry.pods))
      process.stdout.write(`${JSON.stringify({ pod: plan.pod, args: plan.args })}\n`);
    return;
  }
  sh('docker', ['network', 'create', run]);
  /** Each workload's pods: their addresses on the network. */
  const ips = {};
  for (const { workload, pods } of plans) {
    // A StatefulSet starts its pods one at a time, each once the one before is ready, unless Parallel.
    const oneByOne = workload.kind === 'StatefulSet' && workload.spec.podManagementPolicy !== 'Parallel';
    const started = [];
    if (!oneByOne) for (const plan of pods) prepareVolumes(plan);
    for (const plan of pods) {
      if (oneByOne) prepareVolumes(plan);
      const { ip, at } = start(plan);
      started.push({ plan, ip, at });
      if (oneByOne) await waitReady(plan, ip, at);
    }
    if (!oneByOne) await Promise.all(started.map(({ plan, ip, at }) => waitReady(plan, ip, at)));
    ips[workload.metadata.name] = started.map(({ ip }) => ip);
  }
  const portOf = (name, portName) =>
    workloads
      .find((w) => w.metadata.name === name)
      .spec.template.spec.containers[0].ports.find((p) => p.name === portName)?.containerPort;
  const url = (name, ip = ips[name][0]) => `http://${ip}:${portOf(name, 'http')}`;

  if (ips['event-bus']) {
    // The bus takes nothing without a credential; its views (what the ingress reaches) need none.
    const anonymous = await fetch(`${url('event-bus')}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '[]',
    });
    if (anonymous.status !== 401)
      throw new Error(`POST /events without a credential: ${anonymous.status}, expected 401`);
    const viewsPort = portOf('event-bus', 'views');
    if (viewsPort !== undefined && !(await fetch(`http://${ips['event-bus'][0]}:${viewsPort}/subscriptions`)).ok)
      throw new Error('GET /subscriptions on the views port failed');
    process.stdout.write(
      `event-bus        refuses POST /events without a credential (401); /subscriptions answers on port ${viewsPort}\n`,
    );
  }
  if (ips.nats) {
    // NATS lets in only its users; its nodes are routed to one another; the views read from it.
    const answer = await natsAnswerWithoutCredential(ips.nats[0], portOf('nats', 'client'));
    if (!/Authorization Violation/i.test(answer))
      throw new Error(
        `NATS answered a connection without a credential with ${answer}, expected an authorization error`,
      );
    const monitor = portOf('nats', 'monitor');
    const routes = await Promise.all(
      ips.nats.map((ip) =>
        waitFor(`the NATS node at ${ip} to have a route to each other node`, async () => {
          const { num_routes: count } = await (await fetch(`http://${ip}:${monitor}/routez`)).json();
          return count >= ips.nats.length - 1 && count;
        }),
      ),
    );
    const views = ips['event-views']?.[0];
    if (views && !(await fetch(`http://${views}:${portOf('event-views', 'views')}/subscriptions`)).ok)
      throw new Error('GET /subscriptions on the views failed');
    process.stdout.write(
      `nats             refuses a connection without a credential (${answer}); routes per node: ${routes.join(', ')}${views ? '; the views answer /subscriptions' : ''}\n`,
    );
  }

  const started = Date.now();
  const created = await fetch(`${url('posts')}/posts/create`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ title: 'from the production images' }),
  });
  if (created.status !== 201) throw new Error(`POST /posts/create: ${created.status} ${await created.text()}`);
  const { id } = await created.json();
  // Every replica of query keeps a projection of its own: the post must reach each.
  const view = async (ip) => (await (await fetch(`${url('query', ip)}/posts`)).json())[id];
  await Promise.all(ips.query.map((ip) => waitFor(`post ${id} in the view of query at ${ip}`, () => view(ip))));
  process.stdout.write(
    `post -> query: the post is in GET /posts${ips.query.length > 1 ? ` of all ${ips.query.length} query pods` : ''} after ${Date.now() - started} ms\n`,
  );

  const commented = Date.now();
  const comment = await fetch(`${url('comments')}/posts/${id}/comments`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ content: 'a fine post' }),
  });
  if (comment.status !== 201) throw new Error(`POST /posts/${id}/comments: ${comment.status} ${await comment.text()}`);
  await Promise.all(
    ips.query.map((ip) =>
      waitFor(`the comment to be approved in the view of query at ${ip}`, async () =>
        (await view(ip))?.comments?.some((entry) => entry.status === 'approved'),
      ),
    ),
  );
  process.stdout.write(`comment -> moderation -> query: approved in GET /posts after ${Date.now() - commented} ms\n`);
}

// A check whose promise never settles would let Node exit with 0, as if every check had passed.
let settled = false;
process.on('beforeExit', () => {
  if (settled) return;
  settled = true;
  process.stderr.write('run-prod-images: a check was left waiting on nothing; the checks did not finish\n');
  cleanup();
  process.exitCode = 1;
});
main().then(
  () => {
    settled = true;
    cleanup();
  },
  (err) => {
    settled = true;
    process.stderr.write(`run-prod-images: ${err.message}\n`);
    cleanup();
    process.exit(1);
  },
);
