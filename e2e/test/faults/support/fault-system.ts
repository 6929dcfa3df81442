import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readCredential } from '@mini-blog/common/auth';
import { SUBSCRIBER_NAMES, type SubscriberName } from '@mini-blog/common/registry';
import {
  ensureCredentials,
  freePort,
  startSystem,
  type RunningSystem,
  type ServiceName,
  type SystemOptions,
} from '@mini-blog/launcher';
import type { LogSource } from './verify';

export interface FaultSystem {
  readonly system: RunningSystem;
  /** The gateway, as a browser reaches it. */
  readonly gateway: string;
  /** The bus's API itself (not through the gateway): publishing, the log, admin; each needs a principal's `auth`. */
  readonly bus: string;
  /** The bus's read-only views: `/subscriptions`, `/flow`. */
  readonly busViews: string;
  /** The `authorization` header of a principal, from the system's credentials. */
  auth(principal: string): Record<string, string>;
  /** The whole log, read as admin. */
  readonly log: LogSource;
  readonly dataDir: string;
  /** Where each line of every service's log goes (for processes a test starts itself). */
  readonly logSink: (service: string, line: string) => void;
  /** The last lines every service printed, for failure messages. */
  logTail(lines?: number): string;
  stop(): Promise<void>;
}

export interface FaultSystemOptions {
  /** A short name for the temporary folder. */
  readonly name: string;
  readonly env?: SystemOptions['env'];
  /**
   * The bus's subscriber list, given the URL of each subscriber service: lets a test put a proxy in
   * front of one of them, or add one of its own.
   */
  readonly subscribers?: (urls: Record<SubscriberName, string>) => string;
  /** The events through NATS JetStream instead of the event bus. */
  readonly transport?: SystemOptions['transport'];
  /** How long every service may take to be ready (a cluster on a crowded machine takes longer). */
  readonly readyTimeoutMs?: number;
  /** The operator's fault switches (`npm start -- --faults`). */
  readonly faultSwitches?: boolean;
}

const MAX_LOG_LINES = 2000;
const loopback = (url: string) => url.replace('://localhost:', '://127.0.0.1:');

/** The whole system as real processes on free ports, its log in a temporary folder removed by `stop`. */
export async function startFaultSystem({
  name,
  env = {},
  subscribers,
  transport,
  readyTimeoutMs,
  faultSwitches,
}: FaultSystemOptions): Promise<FaultSystem> {
  const dataDir = mkdtempSync(path.join(tmpdir(), `mini-blog-${name}-`));
  const logs: string[] = [];
  const log = (service: string, line: string) => {
    logs.push(`${service.padEnd(10)} | ${line}`);
    if (logs.length > MAX_LOG_LINES) logs.splice(0, logs.length - MAX_LOG_LINES);
  };
  const logTail = (lines = 80) => logs.slice(-lines).join('\n');

  const ports: Partial<Record<ServiceName, number>> = {};
  const busEnv = { ...env['event-bus'] };
  if (subscribers) {
    const urls = {} as Record<SubscriberName, string>;
    for (const subscriber of SUBSCRIBER_NAMES) {
      ports[subscriber] = await freePort();
      urls[subscriber] = `http://127.0.0.1:${ports[subscriber]}/events`;
    }
    busEnv.SUBSCRIBERS = subscribers(urls);
    // A subscriber of a test's own (not a service of the registry) gets a credential too: the bus signs its deliveries.
    ensureCredentials(
      path.join(dataDir, 'credentials'),
      busEnv.SUBSCRIBERS.split(',').map((entry) => entry.split('=')[0]!.trim()),
    );
  }

  let system: RunningSystem;
  try {
    system = await startSystem({
      port: 0,
      dataDir,
      log,
      ports,
      env: { ...env, 'event-bus': busEnv },
      transport,
      readyTimeoutMs,
      faultSwitches,
    });
  } catch (err) {
    rmSync(dataDir, { recursive: true, force: true });
    throw new Error(`${(err as Error).message}\n--- service logs ---\n${logTail(150)}`);
  }
  const auth = (principal: string) => ({
    authorization: `Bearer ${readCredential(system.credentialsDir, principal)[0]!}`,
  });
  const bus = system.services['event-bus'].url;
  return {
    system,
    gateway: loopback(system.url),
    bus,
    busViews: system.viewsUrl,
    auth,
    log: { url: bus, headers: auth('admin') },
    dataDir,
    logSink: log,
    logTail,
    stop: async () => {
      try {
        await system.stop();
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    },
  };
}
