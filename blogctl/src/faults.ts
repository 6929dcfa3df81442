import {
  faultSwitchRoutes,
  type FaultSwitchControl,
  type FaultSwitches,
  type SupervisorView,
} from '@mini-blog/common/events';
import type { Command, FaultCommand, ProcessCommand } from './args';
import type { Output } from './commands';
import { BlogctlError, messageOf, request } from './http';
import { kubectl, kubectlGet, type KubectlTarget } from './kubectl';
import { findLocal, PARTS, type Located } from './local-run';
import type { Target } from './target';

/**
 * The fault switches from the command line. On a local run they go to the launcher
 * (`/launcher/faults` on its gateway, `npm start -- --faults`); on a cluster, the process switches
 * are kubectl's own (a stop scales the workload to 0 and a start back to what it had; a restart is
 * a rollout restart) and the others go to the bus's admin API (a bus deployed with FAULT_SWITCHES=on).
 */
export interface FaultControl extends FaultSwitchControl {
  process(command: ProcessCommand): Promise<string>;
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** A switch route, with the admin credential; its JSON answer, or a BlogctlError that says what to do. */
async function call(base: URL, path: string, token: string, method: Method, body?: unknown): Promise<unknown> {
  const { status, json } = await request(new URL(path, base), { method, token, body });
  if (status === 404 && /no (such )?route/.test(messageOf(status, json)))
    throw new BlogctlError(
      `the fault switches are off at ${base.origin}: start the system with them (npm start -- --faults)`,
    );
  if (status === 401 || status === 403)
    throw new BlogctlError(`the admin credential was refused (${status}: ${messageOf(status, json)})`);
  if (status >= 400) throw new BlogctlError(messageOf(status, json));
  return json;
}

/** The launcher's gateway of `npm start` on its default port: the last guess. */
export const GATEWAY_PORT = 8080;

/**
 * Where the launcher answers: at `--url` itself when that is its gateway, else where the launcher's
 * file in the data folder says (any PORT), else the gateway's default port on the same host
 * (`--url http://127.0.0.1:4005`, the bus, as the other commands take it): `findLocal`.
 */
export function findLauncher(url: URL, located: () => Promise<Located>): Promise<URL> {
  return findLocal(url, located, PARTS.launcher, GATEWAY_PORT);
}

/** A local run: everything through the launcher. */
export function launcherControl(launcher: () => Promise<URL>, token: () => string): FaultControl {
  const faults = async (method: Method, path: string, body?: unknown) =>
    call(await launcher(), `/launcher/faults${path}`, token(), method, body);
  return {
    process: async ({ name, service }) => {
      const view = (await faults('POST', `/services/${encodeURIComponent(service)}/${name}`)) as SupervisorView;
      const shown = view.services.find((process) => process.name === service);
      return `${service}: ${shown ? shown.state : name}${name === 'stop' ? ' (stays down until `blogctl start`)' : ''}`;
    },
    ...faultSwitchRoutes(async (method, path, body) => (await faults(method, path, body)) as FaultSwitches),
    // The launcher's undo answers with its processes, the switches among them.
    clearAll: async () =>
      ((await faults('DELETE', '')) as SupervisorView).faults ?? { deliveries: {}, log: { slowMs: 0 } },
  };
}

/** Where a stopped workload remembers how many replicas it had. */
export const REPLICAS_ANNOTATION = 'mini-blog.dev/replicas-before-stop';

interface Workload {
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly annotations?: Record<string, string> };
  readonly spec: { readonly replicas?: number };
}

const PART_OF = 'app.kubernetes.io/part-of=mini-blog';

/**
 * The workload that runs a service on the cluster, found by its name label: a Deployment or a
 * StatefulSet (one that keeps a projection on a volume), whichever the manifests make it.
 */
function workloadOf(kube: KubectlTarget, service: string): string {
  if (/^nats-\d+$/.test(service))
    throw new BlogctlError(
      `${service}: on a cluster a NATS node is a pod of statefulset/nats (kubectl delete pod ${service})`,
    );
  const { items } = kubectlGet(kube, [
    'deployments,statefulsets',
    '-l',
    `app.kubernetes.io/name=${service},${PART_OF}`,
  ]) as {
    items: Workload[];
  };
  const [found] = items;
  if (!found)
    throw new BlogctlError(
      `${service}: no Deployment or StatefulSet labelled app.kubernetes.io/name=${service} here (-n?)`,
    );
  return `${found.kind.toLowerCase()}/${found.metadata.name}`;
}

/** A cluster: processes through kubectl, switches through the bus's admin API. */
export function clusterControl(kube: KubectlTarget, target: Target): FaultControl {
  const bus = async (method: Method, path: string, body?: unknown) => {
    const base = await target.busUrl();
    const { status, json } = await request(new URL(`/admin/faults${path}`, base), {
      method,
      token: target.adminToken(),
      body,
    });
    if (status === 404 && /no (such )?route/.test(messageOf(status, json)))
      throw new BlogctlError(
        'the bus runs without its fault switches: kubectl set env statefulset/event-bus FAULT_SWITCHES=on (and off again after)',
      );
    if (status >= 400) throw new BlogctlError(messageOf(status, json));
    return json as FaultSwitches;
  };
  const start = (workload: string) => {
    const found = kubectlGet(kube, [workload]) as Workload;
    const before = Number(found.metadata.annotations?.[REPLICAS_ANNOTATION] ?? NaN);
    const replicas = Number.isInteger(before) && before > 0 ? before : Math.max(1, found.spec.replicas ?? 0);
    kubectl(kube, ['scale', workload, `--replicas=${replicas}`]);
    kubectl(kube, ['annotate', workload, `${REPLICAS_ANNOTATION}-`]);
    return replicas;
  };
  return {
    process: async ({ name, service }) => {
      const workload = workloadOf(kube, service);
      if (name === 'restart') {
        kubectl(kube, ['rollout', 'restart', workload]);
        return `${service}: restarting (kubectl rollout restart ${workload})`;
      }
      if (name === 'start') return `${service}: starting, ${start(workload)} replica(s)`;
      const replicas = (kubectlGet(kube, [workload]) as Workload).spec.replicas ?? 1;
      if (replicas > 0) kubectl(kube, ['annotate', '--overwrite', workload, `${REPLICAS_ANNOTATION}=${replicas}`]);
      kubectl(kube, ['scale', workload, '--replicas=0']);
      return `${service}: stopped (${workload} scaled to 0; \`kubectl blog start ${service}\` scales it back to ${Math.max(replicas, 1)})`;
    },
    ...faultSwitchRoutes(bus),
    clearAll: async () => {
      const stopped = (
        kubectlGet(kube, ['deployments,statefulsets', '-l', PART_OF]) as { items: Workload[] }
      ).items.filter((item) => item.metadata.annotations?.[REPLICAS_ANNOTATION] !== undefined);
      for (const item of stopped) start(`${item.kind.toLowerCase()}/${item.metadata.name}`);
      return bus('DELETE', '');
    },
  };
}

/** What is on, one line each. */
export function describeSwitches({ deliveries, log }: FaultSwitches): string[] {
  const lines = Object.entries(deliveries).map(([subscriber, faults]) => {
    const parts = [
      faults.paused ? 'paused (its lag grows)' : '',
      faults.latencyMs > 0 ? `each delivery ${faults.latencyMs} ms late` : '',
      faults.failing ? `failing (its events park; \`blogctl fault clear ${subscriber}\` replays them)` : '',
    ].filter(Boolean);
    return `  ${subscriber.padEnd(11)} ${parts.join(', ')}`;
  });
  if (log.slowMs > 0) lines.push(`  ${'the log'.padEnd(11)} each write ${log.slowMs} ms late`);
  return lines.length === 0 ? ['no fault switch is on'] : ['fault switches on:', ...lines];
}

/** The commands that move or read a switch. */
export type SwitchCommand = FaultCommand | ProcessCommand | { readonly name: 'faults' };

export function isSwitchCommand(command: Command): command is SwitchCommand {
  return ['stop', 'start', 'restart', 'faults', 'fault'].includes(command.name);
}

export async function runFault(command: SwitchCommand, control: FaultControl, out: Output) {
  const show = (switches: FaultSwitches) =>
    out.print(out.json ? JSON.stringify(switches) : describeSwitches(switches).join('\n'));
  switch (command.name) {
    case 'stop':
    case 'start':
    case 'restart': {
      const line = await control.process(command);
      return out.print(out.json ? JSON.stringify({ service: command.service, done: command.name }) : line);
    }
    case 'faults':
      return show(await control.read());
    case 'fault': {
      const change = command.change;
      switch (change.kind) {
        case 'pause':
          return show(await control.setDeliveries(change.subscriber, { paused: true }));
        case 'delay':
          return show(await control.setDeliveries(change.subscriber, { latencyMs: change.ms }));
        case 'fail':
          return show(await control.setDeliveries(change.subscriber, { failing: true }));
        case 'slow-log':
          return show(await control.setLog({ slowMs: change.ms }));
        case 'clear':
          if (change.target === undefined) return show(await control.clearAll());
          if (change.target === 'log') return show(await control.clearLog());
          return show(await control.clearDeliveries(change.target));
      }
    }
  }
}
