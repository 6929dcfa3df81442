import { existsSync } from 'node:fs';
import path from 'node:path';
import { SPAN_EXPORT_MAX_BYTES, SPAN_EXPORT_PATH } from '@mini-blog/common/events';
import {
  createHttpApp,
  createSpanRelay,
  ProxyTrust,
  silentLogger,
  type Logger,
  type SpanRelay,
} from '@mini-blog/common/service';
import express, { type Express, type RequestHandler } from 'express';

export interface AppDeps {
  /** The built app: index.html and Vite's hashed files under assets/. */
  readonly staticDir: string;
  readonly logger?: Logger;
  /** The browser's span exports (`POST /v1/traces`); by default sent on nowhere, from clients bounded by their own address. */
  readonly spanRelay?: SpanRelay;
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

/** HSTS for a year: sent only over HTTPS, where it means something and cannot lock out a plain-HTTP run. */
export const STRICT_TRANSPORT_SECURITY = 'max-age=31536000';

/** Host names a browser treats as trustworthy without TLS (the loopback ones). */
function isLoopback(hostname: string): boolean {
  return (
    hostname === 'localhost' ||
    hostname.endsWith('.localhost') ||
    /^127(\.\d{1,3}){3}$/.test(hostname) ||
    hostname === '[::1]' ||
    hostname === '::1'
  );
}

/**
 * Headers that need HTTPS are sent only where they work: HSTS and `upgrade-insecure-requests` over
 * HTTPS alone (over plain HTTP a browser ignores the first, and the second would send a phone on the
 * LAN to an `https://` that nothing serves), Cross-Origin-Opener-Policy over HTTPS or on a loopback
 * name (elsewhere a browser ignores it with a console warning). `req.secure` is false behind a proxy
 * that ends TLS unless Express is told to trust it: then the proxy adds HSTS itself (ingress-nginx
 * does on a TLS host), and these are never sent wrongly.
 */
const securityHeaders: RequestHandler = (req, res, next) => {
  res.set({
    'content-security-policy': req.secure
      ? `${CONTENT_SECURITY_POLICY}; upgrade-insecure-requests`
      : CONTENT_SECURITY_POLICY,
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
    'cross-origin-resource-policy': 'same-origin',
    'permissions-policy': 'camera=(), microphone=(), geolocation=()',
  });
  if (req.secure) res.set('strict-transport-security', STRICT_TRANSPORT_SECURITY);
  if (req.secure || isLoopback(req.hostname)) res.set('cross-origin-opener-policy', 'same-origin');
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
 * answered 404 (never index.html, which a browser would try to run as a script). And the browser's
 * span exports, the one body it reads (`createSpanRelay`).
 */
export function createApp({
  staticDir,
  logger = silentLogger(),
  spanRelay = createSpanRelay({ proxies: new ProxyTrust(), logger, env: {} }),
}: AppDeps): Express {
  const indexFile = path.join(staticDir, 'index.html');
  return createHttpApp({
    logger,
    isReady: () => existsSync(indexFile),
    bodyLimit: SPAN_EXPORT_MAX_BYTES,
    beforeBody: (app) => app.use(SPAN_EXPORT_PATH, spanRelay.admit),
    routes: (app) => {
      app.use(securityHeaders);
      app.use(spanRelay.router);
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
