import type {
  DeliveryFaultsPatch,
  FaultSwitches,
  LogFaults,
  SubscriptionStatus,
  SupervisorView,
} from '@mini-blog/common/events';
import { ApiError, requestJson } from '../../../lib/api';

/**
 * The launcher's view of its processes (`npm start` only: on Kubernetes there is no launcher, and
 * the path answers 404, which is `null` here), and the bus's subscriptions (lag, parked events).
 */
export async function fetchSupervisor(signal?: AbortSignal): Promise<SupervisorView | null> {
  try {
    return await requestJson<SupervisorView>('GET', '/launcher/services', { signal });
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return null;
    throw err;
  }
}

export function fetchSubscriptions(signal?: AbortSignal): Promise<SubscriptionStatus[]> {
  return requestJson<SubscriptionStatus[]>('GET', '/subscriptions', { signal });
}

export type ProcessAction = 'stop' | 'start' | 'restart';

/** The fault switches, each with the operator's admin credential. */
export const switches = {
  process: (token: string, name: string, action: ProcessAction) =>
    requestJson<SupervisorView>('POST', `/launcher/faults/services/${encodeURIComponent(name)}/${action}`, { token }),
  deliveries: (token: string, subscriber: string, patch: DeliveryFaultsPatch) =>
    requestJson<FaultSwitches>('PATCH', `/launcher/faults/deliveries/${encodeURIComponent(subscriber)}`, {
      token,
      body: patch,
    }),
  clearDeliveries: (token: string, subscriber: string) =>
    requestJson<FaultSwitches>('DELETE', `/launcher/faults/deliveries/${encodeURIComponent(subscriber)}`, { token }),
  log: (token: string, log: LogFaults) =>
    requestJson<FaultSwitches>('PUT', '/launcher/faults/log', { token, body: log }),
  clearLog: (token: string) => requestJson<FaultSwitches>('DELETE', '/launcher/faults/log', { token }),
  /** Every switch off and every stopped process started: the one undo. */
  clearAll: (token: string) => requestJson<SupervisorView>('DELETE', '/launcher/faults', { token }),
  /** Checks a credential before it is kept: 200 for the admin's. */
  check: (token: string) => requestJson<FaultSwitches>('GET', '/launcher/faults', { token }),
};
