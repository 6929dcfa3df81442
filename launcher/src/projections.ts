import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { SERVICE_NAMES, SERVICES } from '@mini-blog/common/registry';
import type { LogSink } from './supervisor';

/** Beside the projections: the transport whose log they were built from. */
export const PROJECTIONS_TRANSPORT_FILE = 'projections-transport';

/**
 * Each service's projection (`<dataDir>/<service>/`) was built from one log, the HTTP bus's (in
 * `dataDir`) or JetStream's stream (under `nats/`), and its checkpoint is a position in that log: a
 * start on the other transport would take that log's first events for ones already applied, and
 * show neither them nor what follows from them. So the transport is written beside the projections,
 * and a start on another one removes them; each service then rebuilds its own from the log it reads
 * now. Both logs are kept. A data folder from before this file, without it, was built on the HTTP
 * bus if it has no NATS store.
 */
export function matchProjectionsToLog(dataDir: string, transport: 'http' | 'jetstream', log: LogSink): void {
  const file = path.join(dataDir, PROJECTIONS_TRANSPORT_FILE);
  const previous = existsSync(file)
    ? readFileSync(file, 'utf8').trim()
    : existsSync(path.join(dataDir, 'nats'))
      ? undefined
      : 'http';
  const folders = SERVICE_NAMES.filter((name) => SERVICES[name].handles.length > 0)
    .map((name) => path.join(dataDir, name))
    .filter((folder) => existsSync(folder));
  if (previous !== undefined && previous !== transport && folders.length > 0) {
    for (const folder of folders) rmSync(folder, { recursive: true, force: true });
    log(
      'launcher',
      `the projections were built from the ${previous} log: removed, each service rebuilds its own from the ${transport} log (both logs are kept)`,
    );
  }
  writeFileSync(file, `${transport}\n`);
}
