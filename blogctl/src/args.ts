import { parseArgs } from 'node:util';
import {
  SERVICE_NAMES,
  SERVICES,
  SUBSCRIBER_NAMES,
  type ServiceName,
  type SubscriberName,
} from '@mini-blog/common/registry';
import { PRINCIPAL_NAME } from '@mini-blog/common/transport/http';
import type { LoadMix } from './load/generator';

export const USAGE = `blogctl: operate mini-blog, on a local run or on a cluster (as a kubectl plugin: kubectl blog)

Commands:
  status                     each subscriber's cursor, lag and parked events; each service's readiness
  parked [--subscriber S]    the events subscribers kept refusing (on JetStream, from its notices)
  replay <subscriber> <seq>  deliver a parked event again
  skip <subscriber> <seq>    give up on a parked event
  rewind <subscriber> <seq>  deliver again everything after <seq> (0: the whole log)
  tail [--count N]           the flow of events and deliveries, live (metadata only); Ctrl-C
                             stops; --count N prints N lines (the newest events first) and stops
  rebuild <service> [--pod P]
                             build the service's projection anew from the log beside the live one,
                             which keeps answering, and swap it in; shows progress until the swap.
                             On a cluster each ready pod of the service in turn (each has its own
                             projection; the others keep answering), or only pod P, ready or not
  stop|start|restart <service>
                             stop a service (it stays down), start it, or restart it: the launcher's
                             supervisor on a local run, kubectl scale / rollout restart on a cluster
  faults                     the fault switches that are on
  fault pause <subscriber>   hold its deliveries: its lag grows
  fault delay <subscriber> <ms>
                             each of its deliveries goes out <ms> late
  fault fail <subscriber>    refuse its deliveries: each event parks
  fault slow-log <ms>        each write to the log waits <ms>
  fault clear [<subscriber>|log]
                             undo: every switch and stopped service (or one subscriber's, or the
                             log's); a failing subscriber gets what parked, in order
                             (the switches need npm start -- --faults, or on a cluster a bus with
                             FAULT_SWITCHES=on; always the admin credential)
  load [--rate N] [--duration D] [--mix P:C] [--report FILE]
                             drive the public API at N requests/s (default 50) for D (30s, 2m;
                             default 30s), P posts for every C comments (default 1:9), open loop;
                             prints each second and a summary, FILE gets the JSON report.
                             --url is the public entry point (default http://localhost:8080)

Where (the cluster of kubectl's current context unless --url is given):
  --url URL                  a local run: the bus at URL (npm start: http://127.0.0.1:4005), or
                             its gateway; the launcher, the views and the services are found
                             where DIR/launcher.json says (npm start writes it, with any PORT),
                             else on their usual ports of the same host (8080, 4006, ...)
  --views-url URL            its read-only views (default: URL itself where it serves them, as on
                             JetStream or through the gateway; else as --url says)
  --service NAME=URL         where a service answers /readyz (default: as --url says)
  --data-dir DIR             the local run's data folder: DIR/credentials/admin, DIR/launcher.json
                             (default: $DATA_DIR, else ./data)
  -n, --namespace NS         the cluster's namespace (kubectl's default otherwise)
  --context NAME             the kubectl context
Output:
  --json                     JSON instead of tables
`;

export type Command =
  | { readonly name: 'status' }
  | { readonly name: 'parked'; readonly subscriber: string | undefined }
  | { readonly name: 'replay' | 'skip' | 'rewind'; readonly subscriber: string; readonly seq: number }
  | { readonly name: 'tail'; readonly count: number | undefined }
  | { readonly name: 'rebuild'; readonly service: SubscriberName; readonly pod: string | undefined }
  | ProcessCommand
  | { readonly name: 'faults' }
  | FaultCommand
  | LoadCommand
  | { readonly name: 'help' };

export interface LoadCommand {
  readonly name: 'load';
  /** The public entry point: the gateway of `npm start`, or the ingress. */
  readonly target: URL;
  readonly rate: number;
  readonly durationMs: number;
  readonly mix: LoadMix;
  readonly report: string | undefined;
  readonly seedPosts: number | undefined;
}

/** A process switch: the launcher's supervisor locally, kubectl on a cluster. */
export interface ProcessCommand {
  readonly name: 'stop' | 'start' | 'restart';
  readonly service: string;
}

export interface FaultCommand {
  readonly name: 'fault';
  readonly change:
    | { readonly kind: 'pause' | 'fail'; readonly subscriber: string }
    | { readonly kind: 'delay'; readonly subscriber: string; readonly ms: number }
    | { readonly kind: 'slow-log'; readonly ms: number }
    | { readonly kind: 'clear'; readonly target: string | undefined };
}

/** The most a switch may delay (the bus's and the transports' own bound). */
const MAX_FAULT_MS = 10_000;

/** Where `load` sends its requests unless --url says otherwise: what `npm start` prints. */
export const DEFAULT_LOAD_TARGET = 'http://localhost:8080';

export type Where =
  | {
      readonly kind: 'local';
      readonly busUrl: URL;
      /** Given with --views-url; otherwise found by asking (`localTarget`). */
      readonly viewsUrl: URL | undefined;
      /** Given with --service; the others are found (`localTarget`). */
      readonly serviceUrls: Readonly<Partial<Record<ServiceName, URL>>>;
      readonly dataDir: string;
    }
  | { readonly kind: 'cluster'; readonly namespace: string | undefined; readonly context: string | undefined };

export interface Invocation {
  readonly command: Command;
  /** Where the bus and the services are; `load` needs none (it goes through the public entry point). */
  readonly where: Where | undefined;
  readonly json: boolean;
}

/** A mistake on the command line: the message names the argument and the rule; exit status 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The port of the bus's read-only views listener: the registry's, or VIEWS_PORT's default. */
export const DEFAULT_VIEWS_PORT = (SERVICES['event-bus'] as { viewsPort?: number }).viewsPort ?? 4006;

export function parseInvocation(argv: readonly string[], env: NodeJS.ProcessEnv): Invocation {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        url: { type: 'string' },
        'views-url': { type: 'string' },
        service: { type: 'string', multiple: true },
        'data-dir': { type: 'string' },
        namespace: { type: 'string', short: 'n' },
        context: { type: 'string' },
        subscriber: { type: 'string' },
        count: { type: 'string' },
        pod: { type: 'string' },
        rate: { type: 'string' },
        duration: { type: 'string' },
        mix: { type: 'string' },
        report: { type: 'string' },
        'seed-posts': { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  const [name, ...rest] = positionals;
  if (name === 'load' && !values.help)
    return { command: parseLoad(rest, values), where: undefined, json: values.json === true };
  const loadOnly = (['rate', 'duration', 'mix', 'report', 'seed-posts'] as const).filter(
    (key) => values[key] !== undefined,
  );
  if (loadOnly.length > 0) throw new UsageError(`--${loadOnly.join(', --')}: only for load`);
  const command =
    values.help || name === undefined || name === 'help'
      ? ({ name: 'help' } as const)
      : parseCommand(name, rest, values);
  return { command, where: parseWhere(values, env), json: values.json === true };
}

interface LoadValues {
  url?: string;
  rate?: string;
  duration?: string;
  mix?: string;
  report?: string;
  'seed-posts'?: string;
  'views-url'?: string;
  service?: string[];
  'data-dir'?: string;
  namespace?: string;
  context?: string;
  subscriber?: string;
  count?: string;
  pod?: string;
}

function parseLoad(rest: readonly string[], values: LoadValues): LoadCommand {
  if (rest.length > 0) throw new UsageError(`load: takes no arguments, not ${rest.join(' ')}`);
  const other = (
    ['views-url', 'service', 'data-dir', 'namespace', 'context', 'subscriber', 'count', 'pod'] as const
  ).filter((key) => values[key] !== undefined);
  if (other.length > 0)
    throw new UsageError(`load: --${other.join(', --')}: not for load (it goes through the public entry point, --url)`);
  const rate = values.rate === undefined ? 50 : positiveNumber('--rate', values.rate, 100_000);
  return {
    name: 'load',
    target: httpUrl('--url', values.url ?? DEFAULT_LOAD_TARGET),
    rate,
    durationMs: values.duration === undefined ? 30_000 : duration('--duration', values.duration),
    mix: values.mix === undefined ? { posts: 1, comments: 9 } : mix(values.mix),
    report: values.report,
    seedPosts: values['seed-posts'] === undefined ? undefined : wholeNumber('--seed-posts', values['seed-posts'], 1),
  };
}

function positiveNumber(what: string, value: string, max: number): number {
  const number = /^\d+(\.\d+)?$/.test(value) ? Number(value) : NaN;
  if (!(number > 0 && number <= max))
    throw new UsageError(`${what}: must be a number above 0 and at most ${max}, not ${value}`);
  return number;
}

const DURATION_UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, '': 1000 };

/** `30s`, `2m`, `500ms`, `1h`, or a number of seconds; at most a day. */
export function duration(what: string, value: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|)$/.exec(value.trim());
  const ms = match ? Number(match[1]) * DURATION_UNITS[match[2]!]! : NaN;
  if (!(ms >= 1 && ms <= 86_400_000))
    throw new UsageError(`${what}: must be a duration such as 30s, 2m or 500ms (up to 24h), not ${value}`);
  return ms;
}

/** `P:C`: P posts for every C comments, whole numbers, not both 0. */
function mix(value: string): LoadMix {
  const match = /^(\d{1,4}):(\d{1,4})$/.exec(value.trim());
  const posts = Number(match?.[1]);
  const comments = Number(match?.[2]);
  if (!match || posts + comments === 0)
    throw new UsageError(`--mix: must be posts:comments, two whole numbers not both 0 (1:9, 0:1), not ${value}`);
  return { posts, comments };
}

function parseCommand(
  name: string,
  rest: readonly string[],
  values: { subscriber?: string; count?: string; pod?: string; url?: string },
): Command {
  if (values.pod !== undefined && name !== 'rebuild') throw new UsageError('--pod: only for rebuild');
  const expectArgs = (count: number, names: string) => {
    if (rest.length !== count)
      throw new UsageError(
        `${name}: takes ${count === 0 ? 'no arguments' : names}, not ${rest.length === 0 ? 'none' : rest.join(' ')}`,
      );
  };
  switch (name) {
    case 'status':
      expectArgs(0, '');
      return { name };
    case 'parked':
      expectArgs(0, '');
      return { name, subscriber: values.subscriber === undefined ? undefined : subscriberName(values.subscriber) };
    case 'replay':
    case 'skip':
    case 'rewind':
      expectArgs(2, '<subscriber> <seq>');
      return {
        name,
        subscriber: subscriberName(rest[0] as string),
        seq: wholeNumber('seq', rest[1] as string, name === 'rewind' ? 0 : 1),
      };
    case 'tail':
      expectArgs(0, '');
      return { name, count: values.count === undefined ? undefined : wholeNumber('--count', values.count, 1) };
    case 'rebuild':
      expectArgs(1, '<service>');
      return { name, service: serviceName(rest[0] as string), pod: podName(values) };
    case 'stop':
    case 'start':
    case 'restart':
      expectArgs(1, '<service>');
      return { name, service: processName(rest[0] as string) };
    case 'faults':
      expectArgs(0, '');
      return { name };
    case 'fault':
      return { name, change: parseFault(rest) };
    default:
      throw new UsageError(
        `command: must be one of status, parked, replay, skip, rewind, tail, rebuild, stop, start, restart, faults, fault, load, not ${name}`,
      );
  }
}

/** A pod's name (a DNS subdomain: lowercase letters, digits, - and .), on a cluster only. */
function podName({ pod, url }: { pod?: string; url?: string }): string | undefined {
  if (pod === undefined) return undefined;
  if (url !== undefined)
    throw new UsageError('--pod: names a pod of a cluster, not with --url (a local run has one process)');
  if (!/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(pod))
    throw new UsageError(`--pod: must be a pod's name (lowercase letters, digits, - and ., up to 253), not ${pod}`);
  return pod;
}

function serviceName(value: string): SubscriberName {
  if (!(SUBSCRIBER_NAMES as readonly string[]).includes(value)) {
    throw new UsageError(`service: must be one of ${[...SUBSCRIBER_NAMES].sort().join(', ')}, not ${value}`);
  }
  return value as SubscriberName;
}

/**
 * A subscriber's name: the registry's, or a course service's from EXTRA_SUBSCRIBERS, so any name of
 * that form; the bus answers 404 for one it does not have.
 */
/** A process the supervisor runs: a service of the registry, or a NATS node (`nats-0`). */
function processName(value: string): string {
  if (!(SERVICE_NAMES as readonly string[]).includes(value) && !/^nats-\d$/.test(value))
    throw new UsageError(`service: must be one of ${SERVICE_NAMES.join(', ')} or a NATS node (nats-0), not ${value}`);
  return value;
}

const FAULTS =
  'pause <subscriber>, delay <subscriber> <ms>, fail <subscriber>, slow-log <ms>, clear [<subscriber>|log]';

function parseFault([kind, ...args]: readonly string[]): FaultCommand['change'] {
  const take = (count: number, names: string) => {
    if (args.length !== count) throw new UsageError(`fault ${kind}: takes ${names}, not ${args.join(' ') || 'none'}`);
  };
  const ms = (value: string) => {
    const number = wholeNumber('ms', value, 0);
    if (number > MAX_FAULT_MS) throw new UsageError(`ms: must be at most ${MAX_FAULT_MS}, not ${value}`);
    return number;
  };
  switch (kind) {
    case 'pause':
    case 'fail':
      take(1, '<subscriber>');
      return { kind, subscriber: subscriberName(args[0]!) };
    case 'delay':
      take(2, '<subscriber> <ms>');
      return { kind, subscriber: subscriberName(args[0]!), ms: ms(args[1]!) };
    case 'slow-log':
      take(1, '<ms>');
      return { kind, ms: ms(args[0]!) };
    case 'clear':
      if (args.length > 1) throw new UsageError(`fault clear: takes [<subscriber>|log], not ${args.join(' ')}`);
      return { kind, target: args[0] === undefined || args[0] === 'log' ? args[0] : subscriberName(args[0]) };
    default:
      throw new UsageError(`fault: must be one of ${FAULTS}, not ${kind ?? 'none'}`);
  }
}

function subscriberName(value: string): string {
  if (!PRINCIPAL_NAME.test(value)) {
    throw new UsageError(
      `subscriber: must be a subscriber's name (${[...SUBSCRIBER_NAMES].sort().join(', ')}, or one of EXTRA_SUBSCRIBERS: letters, digits, - and _), not ${value}`,
    );
  }
  return value;
}

function wholeNumber(what: string, value: string, min: number): number {
  const number = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(number) || number < min)
    throw new UsageError(`${what}: must be a whole number of at least ${min}, not ${value}`);
  return number;
}

function httpUrl(what: string, value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`${what}: must be an http:// URL, not ${value}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UsageError(`${what}: must be an http:// URL, not ${value}`);
  return url;
}

/** The URL's scheme and host with another port. */
export function withPort(url: URL, port: number): URL {
  const copy = new URL(url.origin);
  copy.port = String(port);
  return copy;
}

function parseWhere(
  values: {
    url?: string;
    'views-url'?: string;
    service?: string[];
    'data-dir'?: string;
    namespace?: string;
    context?: string;
  },
  env: NodeJS.ProcessEnv,
): Where {
  const local = [values['views-url'], values.service, values['data-dir']].some((value) => value !== undefined);
  if (values.url === undefined) {
    if (local) throw new UsageError('--views-url, --service and --data-dir: are for a local run and need --url');
    return { kind: 'cluster', namespace: values.namespace, context: values.context };
  }
  if (values.namespace !== undefined || values.context !== undefined)
    throw new UsageError('--namespace and --context: are for a cluster, not with --url');
  const busUrl = httpUrl('--url', values.url);
  const serviceUrls: Partial<Record<ServiceName, URL>> = {};
  for (const entry of values.service ?? []) {
    const [name, url] = [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)];
    if (!entry.includes('=') || !(SERVICE_NAMES as readonly string[]).includes(name)) {
      throw new UsageError(`--service: must be NAME=URL with NAME one of ${SERVICE_NAMES.join(', ')}, not ${entry}`);
    }
    serviceUrls[name as ServiceName] = httpUrl(`--service ${name}`, url);
  }
  return {
    kind: 'local',
    busUrl,
    viewsUrl: values['views-url'] === undefined ? undefined : httpUrl('--views-url', values['views-url']),
    serviceUrls,
    dataDir: values['data-dir'] ?? env.DATA_DIR ?? 'data',
  };
}
