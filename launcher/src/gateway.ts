import type { IncomingMessage, ServerResponse } from 'node:http';
import { AppError, errorHandler, noSniff, silentLogger, type Logger } from '@mini-blog/common/service';
import { startProxyHop } from '@mini-blog/common/tracing';
import { normalizeRequestTarget, RequestTargetError, type NormalizedTarget } from '@mini-blog/infra';
import express, { type Express, type Router } from 'express';
import { createProxyMiddleware } from 'http-proxy-middleware';

/** Names where a normalized request path goes, as the ingress would; undefined when no rule matches. */
export type RouteFor = (path: string) => string | undefined;

export interface GatewayOptions {
  readonly routeFor: RouteFor;
  /** Base URL of each destination `routeFor` names; a function picks one of its replicas per request. */
  readonly targets: Readonly<Record<string, string | (() => string)>>;
  readonly logger?: Logger;
  /**
   * The launcher's own routes (`/launcher/...`), which no ingress has: tried after the path is
   * normalized, so that however a path is written it reaches them only as nginx would read it.
   */
  readonly local?: Router;
}

/** Where the gateway sends a request, decided once, before the proxy runs. */
interface Routed extends IncomingMessage {
  destination?: { readonly name: string; readonly url: string };
  /** The path as nginx reads it, decoded: what the ingress rules match. */
  normalizedPath?: string;
}

/**
 * Requests the gateway traces: the API, not the client's files, the live streams (a span minutes
 * long) or the reads of traces themselves.
 */
const isTraced = (destination: string, path: string) =>
  destination !== 'client' && !/^\/(traces|posts\/stream|flow\/stream)(\/|$)/.test(path);

/**
 * The local stand-in for ingress-nginx: one port, the same path rules, requests proxied as
 * streams (the live event streams pass through unbuffered). The path is normalized as nginx
 * normalizes it before a route is chosen (so `//admin`, `/%2Fadmin` or `/flow/%2e%2e/events` go
 * where nginx would send them, never to a route their raw text seems to name), and the upstream
 * is sent that normalized path, so that what was routed is what arrives. What nginx refuses is
 * refused with 400 or 414; every error is a JSON message, never a stack trace.
 */
export function createGateway({ routeFor, targets, logger = silentLogger(), local }: GatewayOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  // On its own answers and on every proxied one (a service's header, if it sends one, replaces it).
  app.use(noSniff);

  app.use((req: Routed, _res, next) => {
    const target = normalized(req.url ?? '/', req.method ?? 'GET');
    req.normalizedPath = target.path;
    req.url = `${target.encodedPath}${target.search}`;
    next();
  });
  if (local) app.use(local);
  app.use((req: Routed, res, next) => {
    const name = routeFor(req.normalizedPath!);
    const entry = name === undefined ? undefined : targets[name];
    const url = typeof entry === 'function' ? entry() : entry;
    if (name === undefined || url === undefined) throw new AppError(404, `${req.url?.split('?', 1)[0]}: no route`);
    req.destination = { name, url };
    if (isTraced(name, req.normalizedPath!)) {
      // The browser's trace goes on through the gateway: its hop a span, the service's request its child.
      const hop = startProxyHop(req.headers, req.method ?? 'GET', `gateway → ${name}`);
      if (hop.traceparent !== undefined) req.headers.traceparent = hop.traceparent;
      res.on('close', () => hop.end(res.statusCode));
    }
    next();
  });
  app.use(
    createProxyMiddleware<Routed, ServerResponse>({
      router: (req) => req.destination!.url,
      xfwd: true,
      proxyTimeout: 0,
      on: {
        // A stream whose service died must end for the browser too, so that it reconnects
        // (ingress-nginx does the same); otherwise the page would wait forever on a dead stream.
        proxyRes: (proxyRes, _req, res) => {
          proxyRes.on('error', () => res.destroy());
          proxyRes.on('close', () => {
            if (!proxyRes.complete) res.destroy();
          });
        },
        error: (_err, req, res) => {
          if ('writeHead' in res && !res.headersSent) {
            res.writeHead(502, { 'content-type': 'application/json' });
            res.end(JSON.stringify({ message: `${req.destination?.name ?? 'upstream'}: unavailable, try again` }));
          } else {
            res.destroy();
          }
        },
      },
    }),
  );
  app.use(errorHandler(logger));
  return app;
}

function normalized(url: string, method: string): NormalizedTarget {
  try {
    return normalizeRequestTarget(url, method);
  } catch (err) {
    if (err instanceof RequestTargetError) throw new AppError(err.status, err.message);
    throw err;
  }
}
