import { setTimeout as delay } from 'node:timers/promises';
import { serviceAdminToken } from '@mini-blog/common/auth';
import type { RebuildStatus } from '@mini-blog/common/projection';
import type { SubscriberName } from '@mini-blog/common/registry';
import { BlogctlError, messageOf, request } from './http';
import type { Output } from './commands';
import type { Replica, Target } from './target';

/** How often `rebuild` asks how the rebuild goes. */
const REBUILD_POLL_MS = 500;

/**
 * Rebuilds the service's projection on each of its processes in turn: every ready pod on a cluster
 * (each has its own projection), one at a time so that the others keep answering while one swaps,
 * or only the one `--pod` names, ready or not; the one process of a local run. It stops at the first that fails,
 * naming it, and what was rebuilt and what was not.
 */
export async function rebuild(
  target: Target,
  out: Output,
  { service, pod }: { service: SubscriberName; pod: string | undefined },
  signal: AbortSignal,
): Promise<void> {
  const token = serviceAdminToken(target.adminToken(), service);
  const { chosen, skipped } = await target.replicas(service, pod);
  const names = chosen.map((replica) => replica.pod).filter((name): name is string => name !== undefined);
  const onCluster = names.length > 0;
  if (chosen.length === 0)
    throw new BlogctlError(
      `${service}: no ready pod (${skipped.map((left) => `${left.pod} ${left.why}`).join(', ')}); --pod names one to rebuild anyway`,
    );
  if (onCluster && !out.json)
    out.print(
      names.length === 1
        ? `${service}: rebuilding on ${names[0]}${chosen[0]?.ready ? '' : ' (not ready, but named by --pod)'}`
        : `${service}: rebuilding on ${names.length} pods, one at a time: ${names.join(', ')}`,
    );
  for (const { pod: name, why } of skipped)
    out.print(out.json ? JSON.stringify({ pod: name, skipped: why }) : `${name}: ${why}, left as it is`);
  for (const [index, replica] of chosen.entries()) {
    if (signal.aborted) {
      if (!out.json) out.print(`${service}: not started on ${names.slice(index).join(', ')}`);
      return;
    }
    const count = names.length > 1 ? ` (${index + 1} of ${names.length})` : '';
    let followed: boolean;
    try {
      followed = await rebuildOne(replica, service, token, { out, signal, count });
    } catch (err) {
      if (!(err instanceof BlogctlError) || names.length < 2) throw err;
      const done = names.slice(0, index);
      const left = names.slice(index + 1);
      throw new BlogctlError(
        [
          err.message,
          ...(done.length > 0 ? [`rebuilt: ${done.join(', ')}`] : []),
          ...(left.length > 0 ? [`not tried: ${left.join(', ')}`] : []),
        ].join('; '),
      );
    }
    if (!followed) {
      const left = names.slice(index + 1);
      if (left.length > 0 && !out.json) out.print(`${service}: not started on ${left.join(', ')}`);
      return;
    }
  }
  if (onCluster && !out.json && names.length > 1) out.print(`${service}: rebuilt on ${names.join(', ')}`);
}

/**
 * Starts a rebuild on one process and follows it until it is swapped in (or failed), a line each
 * time it moves; false if Ctrl-C stopped the following (not the rebuild). The admin routes take the
 * admin's token for that service, derived from the admin credential: the service never sees the
 * credential itself.
 */
async function rebuildOne(
  replica: Replica,
  service: SubscriberName,
  token: string,
  { out, signal, count }: { out: Output; signal: AbortSignal; count: string },
): Promise<boolean> {
  const label = replica.pod ?? service;
  const again = `blogctl rebuild ${service}${replica.pod === undefined ? '' : ` --pod ${replica.pod}`}`;
  const connection = await replica.connect();
  try {
    const url = new URL('/admin/rebuild', connection.url);
    const call = async (method: 'GET' | 'POST') => {
      const { status, json } = await request(url, { method, token, signal }).catch((err: unknown) => {
        throw err instanceof BlogctlError ? new BlogctlError(`${label}: ${err.message}`) : err;
      });
      if (status === 401 || status === 403)
        throw new BlogctlError(`${label} refused the admin credential (${status}: ${messageOf(status, json)})`);
      if (status >= 400) throw new BlogctlError(`${label}: ${messageOf(status, json)}`);
      return json as RebuildStatus;
    };
    let state = await call('POST');
    const startedAt = state.startedAt;
    let shown = '';
    for (;;) {
      const line = out.json
        ? JSON.stringify({ ...(replica.pod === undefined ? {} : { pod: replica.pod }), ...state })
        : `${label}: ${state.state} ${state.position}/${state.head} events (${state.eventsPerSecond}/s), live at ${state.live}`;
      if (line !== shown) out.print(line);
      shown = line;
      if (state.startedAt === startedAt && state.state === 'failed')
        throw new BlogctlError(
          `${label}: the rebuild failed (${state.error ?? 'no reason given'}); its live projection stays`,
        );
      if (state.startedAt === startedAt && state.state === 'swapped') {
        if (!out.json) out.print(`${label}: the rebuilt projection is live${count}`);
        return true;
      }
      try {
        await delay(REBUILD_POLL_MS, undefined, { signal });
      } catch (err) {
        if (!signal.aborted) throw err;
        // Ctrl-C stops the following, not the rebuild.
        if (!out.json) out.print(`${label}: no longer following; the rebuild goes on (${again} follows it again)`);
        return false;
      }
      state = await call('GET');
    }
  } finally {
    await connection.close();
  }
}
