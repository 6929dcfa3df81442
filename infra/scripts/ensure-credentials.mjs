#!/usr/bin/env node
// Creates the Secret mini-blog-credentials, one random credential per principal, when the cluster
// has none. A Secret that exists keeps every key it has (rotating is a deliberate step, in
// docs/kubernetes.md); a principal it has no key for yet (one added since it was made, such as the
// JetStream views and routes) gets a new one. skaffold runs it before every deploy; by hand, before `kubectl apply -k`:
//   node infra/scripts/ensure-credentials.mjs
import { randomBytes } from 'node:crypto';
import { getJson, kubectl } from './kubectl.mjs';

const SECRET = 'mini-blog-credentials';
/**
 * The publishers and subscribers of common/src/registry.ts, the operator, and on JetStream the
 * read-only views and the NATS cluster's routes (infra's tests keep them equal to the launcher's).
 */
const PRINCIPALS = ['posts', 'comments', 'moderation', 'query', 'admin', 'views', 'nats-route'];

/** 32 random bytes as base64url: 43 characters, as the launcher makes them. */
const credential = () => randomBytes(32).toString('base64url');

function main() {
  const existing = getJson(['secret', SECRET]);
  if (existing) {
    const missing = PRINCIPALS.filter((principal) => !(principal in (existing.data ?? {})));
    if (missing.length === 0) {
      process.stdout.write(`Secret ${SECRET} exists; left as it is\n`);
      return;
    }
    // A merge patch adds these keys and leaves the others as they are.
    const data = Object.fromEntries(
      missing.map((principal) => [principal, Buffer.from(credential()).toString('base64')]),
    );
    const patched = kubectl(['patch', 'secret', SECRET, '--type', 'merge', '--patch-file', '/dev/stdin'], {
      input: JSON.stringify({ data }),
    });
    if (patched.status !== 0) throw new Error(`kubectl patch secret ${SECRET}: ${patched.stderr}`);
    process.stdout.write(`Secret ${SECRET} exists; its keys kept, new keys added: ${missing.join(', ')}\n`);
    return;
  }
  const manifest = {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: { name: SECRET, labels: { 'app.kubernetes.io/name': SECRET, 'app.kubernetes.io/part-of': 'mini-blog' } },
    stringData: Object.fromEntries(PRINCIPALS.map((principal) => [principal, credential()])),
  };
  const created = kubectl(['create', '-f', '-'], { input: JSON.stringify(manifest) });
  // Another run (a second skaffold in another terminal) may have created it since the check: keep theirs.
  if (created.status !== 0 && /AlreadyExists|already exists/.test(created.stderr)) {
    process.stdout.write(`Secret ${SECRET} was created meanwhile; left as it is\n`);
    return;
  }
  if (created.status !== 0) throw new Error(`kubectl create secret ${SECRET}: ${created.stderr}`);
  process.stdout.write(`Secret ${SECRET} created: ${PRINCIPALS.join(', ')}\n`);
}

try {
  main();
} catch (err) {
  process.stderr.write(
    `ensure-credentials: ${err.message}\n  Is kubectl pointed at your cluster? kubectl config current-context\n`,
  );
  process.exit(1);
}
