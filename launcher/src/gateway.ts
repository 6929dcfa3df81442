import type { IncomingMessage, ServerResponse } from 'node:http';
import express, { type Express } from 'express';
import { createProxyMiddleware } from 'http-proxy-middleware';

/** Names the service a request path goes to, as the ingress would; undefined when no rule matches. */
export type RouteFor = (path: string) => string | undefined;

export interface GatewayOptions {
  readonly routeFor: RouteFor;
  /** Base URL of each service by name. */
  readonly targets: Readonly<Record<string, string>>;
}

/**
 * The local stand-in for ingress-nginx: one port, the same path rules, requests proxied as
 * streams (the live event streams pass through unbuffered).
 */
export function createGateway({ routeFor, targets }: GatewayOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  const serviceOf = (req: IncomingMessage): string | undefined => routeFor(new URL(req.url ?? '/', 'http://gateway').pathname);

  app.use((req, res, next) => {
    const service = serviceOf(req);
    if (service === undefined || targets[service] === undefined) {
      res.status(404).json({ message: `${req.path}: no route` });
      return;
    }
    next();
  });
  app.use(
    createProxyMiddleware<IncomingMessage, ServerResponse>({
      router: (req) => targets[serviceOf(req)!]!,
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
          const service = serviceOf(req) ?? 'upstream';
          if ('writeHead' in res && !res.headersSent) {
            res.writeHead(502, { 'content-type': 'application/json' });
            res.end(JSON.stringify({ message: `${service}: unavailable, try again` }));
          } else {
            res.destroy();
          }
        },
      },
    }),
  );
  return app;
}
