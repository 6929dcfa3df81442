import { existsSync } from 'node:fs';
import path from 'node:path';
import { createHttpApp, silentLogger, type Logger } from '@mini-blog/common';
import express, { type Express, type RequestHandler } from 'express';

export interface AppDeps {
  /** The built app: index.html and Vite's hashed files under assets/. */
  readonly staticDir: string;
  readonly logger?: Logger;
}

/**
 * The app only ever talks to its own origin (the gateway or ingress serves the API there too, SSE
 * included), so the policy allows nothing else: no inline script, no CDN, no framing.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const securityHeaders: RequestHandler = (_req, res, next) => {
  res.set({
    'content-security-policy': CONTENT_SECURITY_POLICY,
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
    'permissions-policy': 'camera=(), microphone=(), geolocation=()',
  });
  next();
};

/** Vite puts a content hash in every file name under assets/, so a file there never changes. */
const ASSETS_PREFIX = '/assets/';
const IMMUTABLE = 'public, max-age=31536000, immutable';
/** index.html names the current hashed files: a browser must check it on every visit. */
const REVALIDATE = 'no-cache';

/**
 * The production server of the SPA: static files with caching fitted to each, every other GET
 * answered with index.html so that a reload on a client route works, and a missing hashed asset
 * answered 404 (never index.html, which a browser would try to run as a script).
 */
export function createApp({ staticDir, logger = silentLogger() }: AppDeps): Express {
  const indexFile = path.join(staticDir, 'index.html');
  return createHttpApp({
    logger,
    isReady: () => existsSync(indexFile),
    routes: (app) => {
      app.use(securityHeaders);
      app.use(
        express.static(staticDir, {
          index: false,
          redirect: false,
          setHeaders: (res, filePath) => {
            const inAssets = path.relative(staticDir, filePath).split(path.sep)[0] === 'assets';
            res.setHeader('cache-control', inAssets ? IMMUTABLE : REVALIDATE);
          },
        }),
      );
      app.get(/.*/, (req, res, next) => {
        if (req.path.startsWith(ASSETS_PREFIX) || !req.accepts('html')) {
          next();
          return;
        }
        res.set('cache-control', REVALIDATE).sendFile(indexFile);
      });
    },
  });
}
