import type { RequestHandler, Response } from 'express';
import type { Principals } from '../auth/principals';
import { AppError } from './errors';

const BEARER = /^Bearer +(\S+) *$/i;

/**
 * Every request needs `Authorization: Bearer <token>`, the token one of the secrets of a known
 * principal: else 401 with `WWW-Authenticate: Bearer`, before anything is read or stored. The
 * header must come once (400).
 */
export function authenticate(principals: Principals): RequestHandler {
  return (req, res, next) => {
    // Node keeps the first of two headers, a proxy in front may check the last: refuse the pair rather than pick one.
    if (req.headersDistinct.authorization !== undefined && req.headersDistinct.authorization.length > 1)
      throw new AppError(400, 'authorization: must be sent once');
    const header = req.header('authorization');
    const token = header === undefined ? undefined : BEARER.exec(header)?.[1];
    const principal = token === undefined ? undefined : principals.identify(token);
    if (principal === undefined) {
      res.set('www-authenticate', 'Bearer');
      const rule =
        header === undefined
          ? 'is required (Bearer <token>)'
          : token === undefined
            ? 'must be "Bearer <token>"'
            : 'the token is not valid';
      throw new AppError(401, `authorization: ${rule}`);
    }
    res.locals.principal = principal;
    next();
  };
}

/** The principal `authenticate` found for this request. */
export const principalOf = (res: Response): string => res.locals.principal as string;

/** Lets through only the principals `allowed` accepts; the others get 403 saying what they may not do. */
export function allowOnly(allowed: (principal: string) => boolean, action: string): RequestHandler {
  return (_req, res, next) => {
    const principal = principalOf(res);
    if (!allowed(principal)) throw new AppError(403, `authorization: ${principal} may not ${action}`);
    next();
  };
}
