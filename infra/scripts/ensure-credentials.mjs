#!/usr/bin/env node
// Creates the Secret mini-blog-credentials, one random credential per principal, when the cluster
// has none. A Secret that exists keeps every key it has (rotating is a deliberate step, in
// docs/kubernetes.md); a principal it has no key for yet (one added since it was made, such as the
// JetStream views and routes) gets a new one. skaffold runs it before every deploy; by hand, before `kubectl apply -k`:
//   node infra/scripts/ensure-credentials.mjs
// Then it applies the Secret mini-blog-admin-verifiers, derived from the admin's key: for each
// service, the SHA-256 of the admin's token for it (ADMIN_TOKEN_SHA256), so that the services can
// check the admin on their own admin routes without ever holding the admin's secret. It is applied
// on every run, so a rotated admin key reaches the services at the next deploy (and restart).
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { getJson, kubectl } from './kubectl.mjs';
import { JETSTREAM_PRINCIPALS, PRINCIPALS as BUS_PRINCIPALS, SUBSCRIBERS } from './registry.mjs';

const SECRET = 'mini-blog-credentials';
/**
 * The publishers and subscribers of common/src/registry.ts, the operator, and on JetStream the
 * read-only views and the NATS cluster's routes (infra's tests keep them equal to the launcher's).
 */
const PRINCIPALS = [...BUS_PRINCIPALS, ...JETSTREAM_PRINCIPALS];

const VERIFIERS = 'mini-blog-admin-verifiers';
/** The services with admin routes: the subscribers of common/src/registry.ts. */
const SERVICES_WITH_ADMIN = SUBSCRIBERS;
const LABELS = { 'app.kubernetes.io/part-of': 'mini-blog' };

/** 32 random bytes as base64url: 43 characters, as the launcher makes them. */
const credential = () => randomBytes(32).toString('base64url');

/**
 * `serviceAdminVerifier` of common/src/auth/service-admin.ts (infra's tests check that they agree):
 * for each of the admin's secrets, the hex SHA-256 of HMAC-SHA256(secret, "mini-blog service admin
 * v1 <service>") in base64url, comma-separated.
 */
function serviceAdminVerifier(adminSecrets, service) {
  return adminSecrets
    .map((secret) => {
      const token = createHmac('sha256', secret).update(`mini-blog service admin v1 ${service}`).digest('base64url');
      return createHash('sha256').update(token).digest('hex');
    })
    .join(',');
}

const decode = (base64) => Buffer.from(base64, 'base64').toString('utf8');

/** Ensures the credentials; returns the text of the admin's key. */
function ensureCredentials() {
  const existing = getJson(['secret', SECRET]);
  if (existing) {
    const missing = PRINCIPALS.filter((principal) => !(principal in (existing.data ?? {})));
    if (missing.length === 0) {
      process.stdout.write(`Secret ${SECRET} exists; left as it is\n`);
      return decode(existing.data.admin);
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
    return decode({ ...existing.data, ...data }.admin);
  }
  const manifest = {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: { name: SECRET, labels: { 'app.kubernetes.io/name': SECRET, ...LABELS } },
    stringData: Object.fromEntries(PRINCIPALS.map((principal) => [principal, credential()])),
  };
  const created = kubectl(['create', '-f', '-'], { input: JSON.stringify(manifest) });
  // Another run (a second skaffold in another terminal) may have created it since the check: keep theirs.
  if (created.status !== 0 && /AlreadyExists|already exists/.test(created.stderr)) {
    process.stdout.write(`Secret ${SECRET} was created meanwhile; left as it is\n`);
    return decode(getJson(['secret', SECRET])?.data?.admin ?? '');
  }
  if (created.status !== 0) throw new Error(`kubectl create secret ${SECRET}: ${created.stderr}`);
  process.stdout.write(`Secret ${SECRET} created: ${PRINCIPALS.join(', ')}\n`);
  return manifest.stringData.admin;
}

/** Applies the services' digests of the admin's tokens, derived from the admin's key as it is now. */
function ensureAdminVerifiers(adminText) {
  const secrets = adminText
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter(Boolean);
  if (secrets.length === 0) throw new Error(`the Secret ${SECRET} has no admin key to derive ${VERIFIERS} from`);
  const manifest = {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: { name: VERIFIERS, labels: { 'app.kubernetes.io/name': VERIFIERS, ...LABELS } },
    stringData: Object.fromEntries(
      SERVICES_WITH_ADMIN.map((service) => [service, serviceAdminVerifier(secrets, service)]),
    ),
  };
  const applied = kubectl(['apply', '-f', '-'], { input: JSON.stringify(manifest) });
  if (applied.status !== 0) throw new Error(`kubectl apply secret ${VERIFIERS}: ${applied.stderr}`);
  process.stdout.write(
    `Secret ${VERIFIERS} applied: the digest of the admin's token for ${SERVICES_WITH_ADMIN.join(', ')}\n`,
  );
}

function main() {
  ensureAdminVerifiers(ensureCredentials());
}

try {
  main();
} catch (err) {
  process.stderr.write(
    `ensure-credentials: ${err.message}\n  Is kubectl pointed at your cluster? kubectl config current-context\n`,
  );
  process.exit(1);
}
