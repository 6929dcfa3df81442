import { SPAN_EXPORT_PATH } from '@mini-blog/common/events';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// In development the API lives behind the local gateway; proxying keeps every URL relative, as it
// is in production where the gateway or the ingress serves the app and the API on one origin.
const gateway = process.env.GATEWAY_URL ?? 'http://localhost:8080';
// The browser's span exports (SPAN_EXPORT_PATH) go through it too, to the client's server behind it.
const apiPrefixes = ['/posts', '/subscriptions', '/flow', '/traces', SPAN_EXPORT_PATH];

export default defineConfig({
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true },
  server: {
    port: 5173,
    // Vite answers only the hosts it knows; under `skaffold dev` the browser comes as posts.com.
    allowedHosts: ['posts.com'],
    proxy: Object.fromEntries(apiPrefixes.map((prefix) => [prefix, { target: gateway, changeOrigin: true }])),
  },
});
