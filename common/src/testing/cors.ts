import type { Express } from 'express';
import request from 'supertest';

/** A browser's preflight for a cross-origin request from `origin` (the dev client's by default). */
export function preflight(app: Express, path: string, method: 'GET' | 'POST', origin = 'http://localhost:3000') {
  return request(app)
    .options(path)
    .set('origin', origin)
    .set('access-control-request-method', method)
    .set('access-control-request-headers', method === 'POST' ? 'content-type,idempotency-key' : 'last-event-id');
}
