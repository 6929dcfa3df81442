import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { SERVICE_NAMES, type ServiceName } from './registry';

/**
 * Where a local run (`npm start`) answers, as the launcher writes it into its data folder once every
 * service is ready, and removes it on a clean stop: for blogctl, which is given the bus's URL and
 * would otherwise guess the gateway's and the views' ports (PORT=0 gives every process a free one).
 * A file left by a launcher that was killed names places nothing answers at any more: a reader
 * checks that the gateway answers `GET /launcher/services` before it believes the file.
 */
export const LOCAL_RUN_FILE = 'launcher.json';

const url = z.url({ protocol: /^https?$/ });

export const localRunSchema = z.object({
  /** The gateway, as this machine reaches it: the ingress's routes and the launcher's own `/launcher/...`. */
  gateway: url,
  /** The bus's API (on JetStream, the views process, which listens where the bus would). */
  bus: url,
  /** The bus's read-only views: /subscriptions, /flow. */
  views: url,
  /** Each service of the registry, where its /readyz and admin routes answer. */
  services: z.object(Object.fromEntries(SERVICE_NAMES.map((name) => [name, url])) as Record<ServiceName, typeof url>),
  /** The launcher's process, for a person reading the file. */
  pid: z.number().int(),
});

export type LocalRun = z.infer<typeof localRunSchema>;

export function localRunFile(dataDir: string): string {
  return path.join(dataDir, LOCAL_RUN_FILE);
}

/** Written aside and renamed, readable by the user only (it names every port, as the credentials' folder is private). */
export function writeLocalRun(dataDir: string, run: LocalRun): string {
  const file = localRunFile(dataDir);
  const partial = `${file}.${process.pid}.new`;
  writeFileSync(partial, `${JSON.stringify(localRunSchema.parse(run), null, 2)}\n`, { mode: 0o600 });
  renameSync(partial, file);
  return file;
}

export function removeLocalRun(dataDir: string): void {
  rmSync(localRunFile(dataDir), { force: true });
}

/** The data folder's file, or undefined when there is none or it is not one (a reader falls back as if there were none). */
export function readLocalRun(dataDir: string): LocalRun | undefined {
  let text: string;
  try {
    text = readFileSync(localRunFile(dataDir), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const parsed = localRunSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
