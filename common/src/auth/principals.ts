import { createHash } from 'node:crypto';
import { ConfigError } from '../service/config-error';

/** The operator's principal: the bus's admin routes, the log, and the launcher's fault switches. */
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

  /** A principal's secrets; every principal the process deals with has a credential, or it did not start. */
  secretsOf(principal: string): Secrets {
    const secrets = this.secrets.get(principal);
    if (!secrets) throw new Error(`${principal}: has no credential`);
    return secrets;
  }
}
