#!/usr/bin/env node
// A stand-in for kubectl, for tests of the tools that drive it: put its folder first on PATH under
// the name `kubectl` (see fake-cluster.ts). It answers from a JSON "world" file named by
// FAKE_KUBECTL_WORLD and appends every call (its arguments and stdin) to <world>.calls.jsonl.
// It also scales, annotates and rollout-restarts the workloads in `objects` (a later `get` sees it).
// World: { objects: {"<kind>/<name>": object}, lists: {"<kind>": [object]} (a list is filtered
//          by `-l k=v,...` as kubectl does, on each item's metadata.labels), error?: string,
//          portForward?: {"<remote port>" or "<resource>:<remote port>" (pod/query-0:4002): <local port>},
//          hidden?: ["<kind>/<name>"] (objects the first `get` does not see: created by someone else meanwhile) }
'use strict';
const fs = require('node:fs');

const worldFile = process.env.FAKE_KUBECTL_WORLD;
if (!worldFile) {
  process.stderr.write('fake kubectl: FAKE_KUBECTL_WORLD is not set\n');
  process.exit(2);
}
const world = JSON.parse(fs.readFileSync(worldFile, 'utf8'));
const argv = process.argv.slice(2);
const stdin = argv.includes('-') || argv.includes('/dev/stdin') ? fs.readFileSync(0, 'utf8') : undefined;
fs.appendFileSync(`${worldFile}.calls.jsonl`, `${JSON.stringify({ args: argv, stdin })}\n`);

const WITH_VALUE = new Set([
  '--context',
  '--namespace',
  '-n',
  '-l',
  '--selector',
  '-o',
  '--output',
  '-f',
  '--filename',
  '--type',
  '--patch-file',
]);
const words = [];
const flags = {};
for (let i = 0; i < argv.length; i += 1) {
  const arg = argv[i];
  if (WITH_VALUE.has(arg)) flags[arg] = argv[(i += 1)];
  else if (arg.startsWith('-')) flags[arg] = true;
  else words.push(arg);
}

function fail(message, status = 1) {
  process.stderr.write(`${message}\n`);
  process.exit(status);
}

/** An equality-based label selector (`k=v,k2=v2`), as `kubectl get -l` takes it; none matches all. */
function matches(item, selector) {
  if (selector === undefined) return true;
  const labels = item.metadata?.labels ?? {};
  return selector.split(',').every((term) => {
    const [key, value] = term.split('=');
    return labels[key] === value;
  });
}

if (world.error) fail(world.error);
const [verb, ...rest] = words;
if (verb === 'get') {
  // `get deployment posts` or `get deployment/posts`.
  const [kind, name] = rest.length === 1 && rest[0].includes('/') ? rest[0].split('/') : rest;
  if (name !== undefined) {
    const key = `${kind}/${name}`;
    const hidden = (world.hidden ?? []).includes(key);
    const object = hidden ? undefined : world.objects?.[key];
    // Hidden from the first look only: the next one sees what was created meanwhile.
    if (hidden) {
      world.hidden = world.hidden.filter((other) => other !== key);
      fs.writeFileSync(worldFile, JSON.stringify(world));
    }
    if (object === undefined && !flags['--ignore-not-found'])
      fail(`Error from server (NotFound): ${kind} "${name}" not found`);
    process.stdout.write(object === undefined ? '' : JSON.stringify(object));
  } else {
    const items = (world.lists?.[kind] ?? []).filter((item) => matches(item, flags['-l'] ?? flags['--selector']));
    process.stdout.write(JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
  }
} else if (verb === 'create' && flags['-f'] === '-') {
  const object = JSON.parse(stdin);
  const key = `${object.kind.toLowerCase()}/${object.metadata.name}`;
  if (world.objects?.[key])
    fail(`Error from server (AlreadyExists): ${object.kind.toLowerCase()}s "${object.metadata.name}" already exists`);
  world.objects = { ...world.objects, [key]: object };
  fs.writeFileSync(worldFile, JSON.stringify(world));
  process.stdout.write(`${key} created\n`);
} else if (verb === 'apply' && flags['-f'] === '-') {
  // Creates or replaces the object as given.
  const object = JSON.parse(stdin);
  const key = `${object.kind.toLowerCase()}/${object.metadata.name}`;
  const existed = world.objects?.[key] !== undefined;
  world.objects = { ...world.objects, [key]: object };
  fs.writeFileSync(worldFile, JSON.stringify(world));
  process.stdout.write(`${key} ${existed ? 'configured' : 'created'}\n`);
} else if (verb === 'patch' && flags['--type'] === 'merge' && flags['--patch-file'] === '/dev/stdin') {
  // A JSON merge patch of one level below the top (enough for a Secret's data).
  const [kind, name] = rest;
  const key = `${kind}/${name}`;
  const object = world.objects?.[key];
  if (object === undefined) fail(`Error from server (NotFound): ${kind} "${name}" not found`);
  const patch = JSON.parse(stdin);
  for (const [field, value] of Object.entries(patch))
    object[field] = value !== null && typeof value === 'object' ? { ...object[field], ...value } : value;
  fs.writeFileSync(worldFile, JSON.stringify(world));
  process.stdout.write(`${key} patched\n`);
} else if (verb === 'scale' || verb === 'annotate' || (verb === 'rollout' && rest[0] === 'restart')) {
  // A workload's replicas and annotations, changed in the world, so that a later `get` sees them.
  const key = verb === 'rollout' ? rest[1] : rest[0];
  const object = world.objects?.[key];
  if (object === undefined) fail(`Error from server (NotFound): ${key} not found`);
  object.metadata.annotations = { ...object.metadata.annotations };
  if (verb === 'scale') {
    const replicas = argv.find((arg) => arg.startsWith('--replicas='));
    object.spec.replicas = Number(replicas.slice('--replicas='.length));
  } else if (verb === 'annotate') {
    for (const change of rest.slice(1)) {
      if (change.endsWith('-')) delete object.metadata.annotations[change.slice(0, -1)];
      else object.metadata.annotations[change.split('=')[0]] = change.slice(change.indexOf('=') + 1);
    }
  } else {
    object.metadata.annotations['kubectl.kubernetes.io/restartedAt'] = new Date().toISOString();
  }
  fs.writeFileSync(worldFile, JSON.stringify(world));
  process.stdout.write(`${key} ${verb === 'scale' ? 'scaled' : verb === 'annotate' ? 'annotated' : 'restarted'}\n`);
} else if (verb === 'port-forward') {
  // A real port-forward runs until it is stopped. The handler is in place before the first
  // "Forwarding" line, since blogctl may stop the forward as soon as it has read that line.
  setInterval(() => {}, 60_000);
  process.on('SIGTERM', () => {
    fs.appendFileSync(`${worldFile}.calls.jsonl`, `${JSON.stringify({ args: ['(port-forward stopped)'] })}\n`);
    process.exit(0);
  });
  const [resource, ...mappings] = rest;
  for (const port of mappings.map((mapping) => mapping.split(':').at(-1))) {
    // One resource's own port first (each pod its own process), then the port whatever the resource.
    const local = world.portForward?.[`${resource}:${port}`] ?? world.portForward?.[port];
    if (local === undefined) fail(`error: the fake cluster has nothing on port ${port}`);
    process.stdout.write(`Forwarding from 127.0.0.1:${local} -> ${port}\n`);
  }
} else {
  fail(`fake kubectl: no answer for: kubectl ${argv.join(' ')}`, 2);
}
