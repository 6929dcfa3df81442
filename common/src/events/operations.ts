import { z } from 'zod';
import type { DeliveryFaults } from './constants';

export { NO_DELIVERY_FAULTS, type DeliveryFaults } from './constants';

/**
 * The operator's side of the system, as the launcher, the bus, the transports, blogctl and the
 * client's panels share it: the fault switches and the supervisor's view of each process. Public
 * shapes only (no secret, no payload, no address), browser-safe.
 */

/** The fault switch of the log itself. */
export interface LogFaults {
  /** Each write to the log (a commit of the bus; a publish on JetStream) waits this long first. */
  readonly slowMs: number;
}

export const NO_LOG_FAULTS: LogFaults = { slowMs: 0 };

/** The most latency a switch may add to a delivery or a write: long enough to see, short of the timeouts. */
export const MAX_FAULT_LATENCY_MS = 10_000;

const latency = z.number().int().min(0).max(MAX_FAULT_LATENCY_MS);

/** A change to some of a subscriber's switches; the others stay as they are. */
export const deliveryFaultsPatchSchema = z
  .strictObject({ paused: z.boolean().optional(), latencyMs: latency.optional(), failing: z.boolean().optional() })
  .refine((patch) => Object.keys(patch).length > 0, { message: 'must set paused, latencyMs or failing' });

export const logFaultsSchema = z.strictObject({ slowMs: latency });

export const deliveryFaultsSchema = z.strictObject({ paused: z.boolean(), latencyMs: latency, failing: z.boolean() });

/** One service's switches on JetStream, where its own transport applies them. */
export interface ServiceFaults {
  readonly deliveries: DeliveryFaults;
  readonly log: LogFaults;
}

/**
 * What the operator sends a JetStream service on its fault subject: the switches to set (a part
 * left out stays as it is); an empty message only asks for them. The answer is `ServiceFaults`, or
 * `{ error }`.
 */
export const serviceFaultsSchema = z.strictObject({
  deliveries: deliveryFaultsSchema.optional(),
  log: logFaultsSchema.optional(),
});

export type DeliveryFaultsPatch = z.infer<typeof deliveryFaultsPatchSchema>;

/** Every switch that is on, where the switches live (the bus, or each service's transport on JetStream). */
export interface FaultSwitches {
  /** By subscriber; one without an entry has every switch off. */
  readonly deliveries: Readonly<Record<string, DeliveryFaults>>;
  readonly log: LogFaults;
}

export const isDeliveryFaulty = (faults: DeliveryFaults): boolean =>
  faults.paused || faults.failing || faults.latencyMs > 0;

/**
 * The switches of the deliveries and of the log, wherever they live (the bus, each service's
 * transport on JetStream, or the launcher in front of either). Each answer is every switch that is on.
 */
export interface FaultSwitchControl {
  read(): Promise<FaultSwitches>;
  setDeliveries(subscriber: string, patch: DeliveryFaultsPatch): Promise<FaultSwitches>;
  clearDeliveries(subscriber: string): Promise<FaultSwitches>;
  setLog(log: LogFaults): Promise<FaultSwitches>;
  clearLog(): Promise<FaultSwitches>;
  /** Every switch off (a process that is down has none). */
  clearAll(): Promise<FaultSwitches>;
}

/** One request to a router of the switches: a method and a path under it (`''` is the router itself). */
export type FaultSwitchRequest = (
  method: 'GET' | 'PUT' | 'PATCH' | 'DELETE',
  path: string,
  body?: unknown,
) => Promise<FaultSwitches>;

/**
 * The switches through their HTTP routes, which are the same under the bus's `/admin/faults` and the
 * launcher's `/launcher/faults`: `send` adds the router's address and the admin credential.
 */
export function faultSwitchRoutes(send: FaultSwitchRequest): FaultSwitchControl {
  return {
    read: () => send('GET', ''),
    setDeliveries: (subscriber, patch) => send('PATCH', `/deliveries/${encodeURIComponent(subscriber)}`, patch),
    clearDeliveries: (subscriber) => send('DELETE', `/deliveries/${encodeURIComponent(subscriber)}`),
    setLog: (log) => send('PUT', '/log', log),
    clearLog: () => send('DELETE', '/log'),
    clearAll: () => send('DELETE', ''),
  };
}

/**
 * A process as the launcher's supervisor sees it: `running` (up, maybe not ready yet),
 * `restarting` (it exited, and is started again after a backoff) or `stopped` (by the operator).
 */
export interface ServiceView {
  readonly name: string;
  readonly state: 'running' | 'restarting' | 'stopped';
  /** Its `/readyz` answered 200 (for a NATS node, its `/healthz`). */
  readonly ready: boolean;
  /** Times the supervisor started it again after it exited on its own. */
  readonly restarts: number;
  /** How it last exited on its own (`code 1`, `SIGKILL`), or null. */
  readonly lastExit: string | null;
  /** When it entered its state (ISO time). */
  readonly since: string;
}

/** `GET /launcher/services`: the launcher's processes, and whether its fault switches are on. */
export interface SupervisorView {
  readonly transport: 'http' | 'jetstream';
  /** The fault switches are on (`npm start -- --faults`); `faults` says which are set. */
  readonly switches: boolean;
  readonly services: readonly ServiceView[];
  /** What the switches have set, when they are on. */
  readonly faults?: FaultSwitches;
}
