import {
  deliveryFaultsSchema,
  faultSwitchRoutes,
  isDeliveryFaulty,
  NO_DELIVERY_FAULTS,
  NO_LOG_FAULTS,
  type DeliveryFaults,
  type FaultSwitchControl,
  type FaultSwitches,
  type FaultSwitchRequest,
  type LogFaults,
  type ServiceFaults,
} from '@mini-blog/common/events';
import { PUBLISHER_NAMES, SUBSCRIBER_NAMES } from '@mini-blog/common/registry';
import { AppError } from '@mini-blog/common/service';

/**
 * Where the launcher sets the switches of the deliveries and of the log: they live where they
 * act, in the bus (the HTTP transport: its `/admin/faults`) or in each service's own transport
 * (JetStream: a request on the service's fault subject). Process control is the launcher's own.
 * Each answer is every switch that is on.
 */
export interface Switchboard extends FaultSwitchControl {
  close(): Promise<void>;
}

/** The bus's switches through its admin API, with the admin credential. */
export function busSwitchboard(busUrl: string, adminToken: string): Switchboard {
  const call: FaultSwitchRequest = async (method, path, body) => {
    let res: Response;
    try {
      res = await fetch(`${busUrl}/admin/faults${path}`, {
        method,
        headers: {
          authorization: `Bearer ${adminToken}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(5000),
      });
    } catch {
      throw new AppError(
        503,
        'event-bus: unavailable (the switches of the deliveries and the log are in it); start it',
      );
    }
    const answer = (await res.json().catch(() => ({}))) as FaultSwitches & { message?: string };
    if (!res.ok) throw new AppError(res.status, answer.message ?? `event-bus: HTTP ${res.status}`);
    return answer;
  };
  return { ...faultSwitchRoutes(call), close: async () => undefined };
}

/** A request on a service's fault subject, as admin: its switches, or undefined when it is not running. */
export type AskService = (service: string, change?: Partial<ServiceFaults>) => Promise<ServiceFaults | undefined>;

/**
 * The switches of each JetStream service, asked of the service itself. One that does not answer is
 * not running, and has none (its switches went with its process).
 */
export function natsSwitchboard(ask: AskService, close: () => Promise<void>): Switchboard {
  const subscriberOf = (name: string) => {
    if (!(SUBSCRIBER_NAMES as readonly string[]).includes(name))
      throw new AppError(404, `subscriber: must be one of ${SUBSCRIBER_NAMES.join(', ')}, not ${name}`);
    return name;
  };
  const running = (name: string) => async (change?: Partial<ServiceFaults>) => {
    const answer = await ask(name, change);
    if (!answer) throw new AppError(503, `${name}: not running (its switches are in its process); start it`);
    return answer;
  };
  const read = async (): Promise<FaultSwitches> => {
    const names = [...new Set([...SUBSCRIBER_NAMES, ...PUBLISHER_NAMES])];
    const answers = await Promise.all(names.map(async (name) => [name, await ask(name)] as const));
    const deliveries: Record<string, DeliveryFaults> = {};
    let slowMs = 0;
    for (const [name, answer] of answers) {
      if (!answer) continue;
      if ((SUBSCRIBER_NAMES as readonly string[]).includes(name) && isDeliveryFaulty(answer.deliveries))
        deliveries[name] = answer.deliveries;
      slowMs = Math.max(slowMs, answer.log.slowMs);
    }
    return { deliveries, log: { slowMs } };
  };
  /** The log is slow for each service that publishes: the switch goes to each one that runs. */
  const toPublishers = async (log: LogFaults) => {
    const answers = await Promise.all(PUBLISHER_NAMES.map((name) => ask(name, { log })));
    if (answers.every((answer) => answer === undefined))
      throw new AppError(503, `${PUBLISHER_NAMES.join(', ')}: none is running (the switch of the log is in each)`);
    return read();
  };
  return {
    read,
    setDeliveries: async (subscriber, patch) => {
      const set = running(subscriberOf(subscriber));
      const { deliveries } = await set();
      await set({ deliveries: deliveryFaultsSchema.parse({ ...deliveries, ...patch }) });
      return read();
    },
    clearDeliveries: async (subscriber) => {
      await running(subscriberOf(subscriber))({ deliveries: NO_DELIVERY_FAULTS });
      return read();
    },
    setLog: toPublishers,
    clearLog: () => toPublishers(NO_LOG_FAULTS),
    clearAll: async () => {
      const names = [...new Set([...SUBSCRIBER_NAMES, ...PUBLISHER_NAMES])];
      await Promise.all(names.map((name) => ask(name, { deliveries: NO_DELIVERY_FAULTS, log: NO_LOG_FAULTS })));
      return read();
    },
    close,
  };
}
