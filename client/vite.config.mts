import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// In development the API lives behind the local gateway; proxying keeps every URL relative, as it
// is in production where the gateway or the ingress serves the app and the API on one origin.
const gateway = process.env.GATEWAY_URL ?? 'http://localhost:8080';
const apiPrefixes = ['/posts', '/subscriptions', '/flow', '/traces'];

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
