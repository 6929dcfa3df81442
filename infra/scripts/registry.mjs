// The processes and principals of common/src/registry.ts, for the scripts here, which run without
// a build: `npm run generate` writes them to registry.yaml beside this file.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

const registry = parse(readFileSync(new URL('registry.yaml', import.meta.url), 'utf8'));

/** An image per process: mini-blog/<name>. */
export const IMAGES = registry.images;
/** The principals with a credential on the HTTP bus: the services that publish or consume events, and admin. */
export const PRINCIPALS = registry.principals;
/** The services that consume events: each has admin routes, and a digest of the admin's token for them. */
export const SUBSCRIBERS = registry.subscribers;
/** The principals with a credential on JetStream besides (the views, the cluster's routes). */
export const JETSTREAM_PRINCIPALS = registry.jetstreamPrincipals;

// `node infra/scripts/registry.mjs images|principals`: the list, one word each, for a shell script.
if (process.argv[1] && new URL(import.meta.url).pathname === process.argv[1]) {
  const lists = { images: IMAGES, principals: PRINCIPALS };
  process.stdout.write(`${lists[process.argv[2]]?.join(' ') ?? ''}\n`);
}
