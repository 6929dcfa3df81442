import { ADMIN, Principals, readCredential, type Secrets } from '@mini-blog/common/auth';
import { ConfigError } from '@mini-blog/common/service';
import type { BusConfig } from '../config';

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
