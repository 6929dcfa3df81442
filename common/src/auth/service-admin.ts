import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { AppError } from '../service/errors';
import { ADMIN } from './principals';

/**
 * The admin's credential on a service's own admin routes (a projection's rebuild). A service must
 * not hold the admin secret: whoever took over one service would then be admin everywhere, on the
 * bus and on every other service. So the admin does not send it either. It sends a token derived
 * from it for that one service, `serviceAdminToken(secret, service)` (HMAC-SHA256 keyed with the
 * secret), and the service holds only the SHA-256 of that token (`ADMIN_TOKEN_SHA256`, given by
 * whoever holds the admin credential: the launcher, or the cluster's Secret). From the hash nobody
 * gets a token, and from one service's token nobody gets the secret or another service's token.
 */

/** The token the admin sends to `service`'s admin routes. */
export function serviceAdminToken(adminSecret: string, service: string): string {
  return createHmac('sha256', adminSecret).update(`mini-blog service admin v1 ${service}`).digest('base64url');
}

const sha256 = (text: string) => createHash('sha256').update(text).digest();

/**
 * What `service` is given to check the admin's token: the hex SHA-256 of each admin secret's token,
 * comma-separated, current first (every line of the admin's file is accepted while rotating).
 */
export function serviceAdminVerifier(adminSecrets: readonly string[], service: string): string {
  return adminSecrets.map((secret) => sha256(serviceAdminToken(secret, service)).toString('hex')).join(',');
}

/** Parses `ADMIN_TOKEN_SHA256`: hex SHA-256 digests, comma-separated. */
export function parseAdminVerifier(value: string): Buffer[] {
  return value
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.length > 0)
    .map((part) => Buffer.from(part, 'hex'));
}

const BEARER = /^Bearer +(\S+) *$/i;

export interface ServiceAdminOptions {
  readonly service: string;
  /** The digests of the admin's tokens for this service; empty when none is configured. */
  readonly verifiers: readonly Buffer[];
  /** The service's own secrets: its own token is known, and refused (403), rather than unknown (401). */
  readonly ownSecrets?: readonly string[];
}

/**
 * Lets through only the admin: no or an unknown token gets 401 (`WWW-Authenticate: Bearer`), the
 * service's own token 403, and so does anyone when no verifier is configured (nobody is admin here).
 */
export function serviceAdminOnly({ service, verifiers, ownSecrets = [] }: ServiceAdminOptions): RequestHandler {
  const own = ownSecrets.map(sha256);
  const matches = (digest: Buffer, list: readonly Buffer[]) =>
    list.some((known) => known.length === digest.length && timingSafeEqual(known, digest));
  return (req, res, next) => {
    if (req.headersDistinct.authorization !== undefined && req.headersDistinct.authorization.length > 1)
      throw new AppError(400, 'authorization: must be sent once');
    const header = req.header('authorization');
    const token = header === undefined ? undefined : BEARER.exec(header)?.[1];
    const digest = token === undefined ? undefined : sha256(token);
    if (digest !== undefined && matches(digest, verifiers)) {
      res.locals.principal = ADMIN;
      next();
      return;
    }
    if (digest !== undefined && matches(digest, own))
      throw new AppError(403, `authorization: ${service} may not use the admin routes`);
    if (verifiers.length === 0)
      throw new AppError(403, `authorization: ${service} has no admin verifier (ADMIN_TOKEN_SHA256): nobody may`);
    res.set('www-authenticate', 'Bearer');
    throw new AppError(
      401,
      `authorization: ${
        header === undefined
          ? 'is required (Bearer <the admin token for this service>)'
          : token === undefined
            ? 'must be "Bearer <token>"'
            : 'the token is not the admin token for this service'
      }`,
    );
  };
}
