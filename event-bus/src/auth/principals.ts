import { createHash } from 'node:crypto';
import { ConfigError, readCredential } from '@mini-blog/common';
import type { BusConfig } from '../config';

/** The principal of the admin routes; it may read the log too. */
export const ADMIN = 'admin';

/** A principal's secrets, current first (its credential file, line by line). */
export type Secrets = readonly [string, ...string[]];

const fingerprint = (token: string) => createHash('sha256').update(token).digest('base64');

/**
 * Who holds which secret. A bearer token is looked up by its SHA-256, so that the time the lookup
 * takes says nothing about how much of a guessed token was right.
 */
export class Principals {
  private readonly byFingerprint = new Map<string, string>();

  constructor(private readonly secrets: ReadonlyMap<string, Secrets>) {
    for (const [principal, list] of secrets) {
      for (const secret of list) {
        const owner = this.byFingerprint.get(fingerprint(secret));
        if (owner !== undefined && owner !== principal)
          throw new ConfigError(`credentials: ${owner} and ${principal} must not share a secret`);
        this.byFingerprint.set(fingerprint(secret), principal);
      }
    }
  }

  /** The principal one of whose secrets (any line of its file) this token is. */
  identify(token: string): string | undefined {
    return this.byFingerprint.get(fingerprint(token));
  }

  /** A principal's secrets; every principal the bus deals with has a credential, or it did not start. */
  secretsOf(principal: string): Secrets {
    const secrets = this.secrets.get(principal);
    if (!secrets) throw new Error(`${principal}: has no credential`);
    return secrets;
  }
}

/**
 * Reads the credential of every principal the bus deals with: each subscriber (its deliveries are
 * signed with it), each publisher of `PUBLISH_ACL`, and admin. A missing or invalid file stops the
 * bus with a message naming it.
 */
export function readPrincipals(config: Pick<BusConfig, 'CREDENTIALS_DIR' | 'SUBSCRIBERS' | 'PUBLISH_ACL'>): Principals {
  const dir = config.CREDENTIALS_DIR;
  if (dir === undefined) {
    throw new ConfigError(
      'invalid configuration: CREDENTIALS_DIR: is required: the folder with one credential file per principal (npm start creates it under the data folder)',
    );
  }
  const names = new Set([
    ...config.SUBSCRIBERS.map((subscriber) => subscriber.name),
    ...config.PUBLISH_ACL.keys(),
    ADMIN,
  ]);
  return new Principals(new Map([...names].map((name) => [name, readCredential(dir, name) as Secrets])));
}
