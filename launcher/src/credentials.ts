import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { readCredential } from '@mini-blog/common/auth';
import { PUBLISHER_NAMES, SUBSCRIBER_NAMES } from '@mini-blog/common/registry';
import { ROUTE_CREDENTIAL, VIEWS_PRINCIPAL } from '@mini-blog/common/transport/jetstream/nats-config';

/**
 * Who holds a credential: every service that publishes or is delivered events, the admin, and on
 * JetStream the read-only views and the cluster's routes (made on every start, so that switching
 * the transport needs nothing new).
 */
export const PRINCIPALS: readonly string[] = [
  ...new Set<string>([...PUBLISHER_NAMES, ...SUBSCRIBER_NAMES]),
  'admin',
  VIEWS_PRINCIPAL,
  ROUTE_CREDENTIAL,
];

/** 32 random bytes, as 43 characters of base64url: safe in a header, a file and a shell. */
export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

export interface CredentialsReport {
  /** The principals that got a new secret. */
  readonly created: readonly string[];
  /** The principals whose file was there already. */
  readonly reused: readonly string[];
}

/**
 * Makes sure the folder holds one file per principal, each with its secret on the first line
 * (the format the services read: further lines are older secrets, still accepted while rotating).
 * A file that is there is kept, so the services and the students' course services keep their
 * tokens across restarts; `fresh` replaces every one. Only the user may read them: the folder is
 * 0700 and each file 0600, repaired on every start (a copy or a restore may have widened them).
 */
export function ensureCredentials(
  dir: string,
  principals: readonly string[] = PRINCIPALS,
  { fresh = false } = {},
): CredentialsReport {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const created: string[] = [];
  const reused: string[] = [];
  for (const principal of principals) {
    const file = path.join(dir, principal);
    if (!fresh && existsSync(file)) {
      // The services would refuse it at their start; better said once, here, naming the file.
      readCredential(dir, principal);
      chmodSync(file, 0o600);
      reused.push(principal);
      continue;
    }
    // Written aside and renamed, so that a service never reads a half-written file.
    const partial = `${file}.${process.pid}.new`;
    writeFileSync(partial, `${newSecret()}\n`, { mode: 0o600, flag: 'wx' });
    renameSync(partial, file);
    created.push(principal);
  }
  return { created, reused };
}
