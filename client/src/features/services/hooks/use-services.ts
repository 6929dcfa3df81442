import { useCallback, useEffect, useState } from 'react';
import type { SubscriptionStatus, SupervisorView } from '@mini-blog/common/events';
import { fetchSubscriptions, fetchSupervisor } from '../api/services-api';

/** Up, ready, restarts, lag and parked change without a stream message: looked at every second. */
const POLL_MS = 1000;

export interface Services {
  /** Undefined until the first answer; null where there is no launcher (Kubernetes). */
  readonly supervisor: SupervisorView | null | undefined;
  readonly subscriptions: readonly SubscriptionStatus[];
  readonly supervisorError: unknown;
  readonly subscriptionsError: unknown;
  /** Looks again at once (after a switch moved). */
  readonly refresh: () => void;
}

export function useServices(): Services {
  const [supervisor, setSupervisor] = useState<SupervisorView | null | undefined>(undefined);
  const [subscriptions, setSubscriptions] = useState<readonly SubscriptionStatus[]>([]);
  const [supervisorError, setSupervisorError] = useState<unknown>(null);
  const [subscriptionsError, setSubscriptionsError] = useState<unknown>(null);
  const [tick, setTick] = useState(0);
  const refresh = useCallback(() => setTick((value) => value + 1), []);

  useEffect(() => {
    const controller = new AbortController();
    const look = () => {
      fetchSupervisor(controller.signal).then(
        (view) => {
          setSupervisor(view);
          setSupervisorError(null);
        },
        (err: unknown) => controller.signal.aborted || setSupervisorError(err),
      );
      fetchSubscriptions(controller.signal).then(
        (statuses) => {
          setSubscriptions(statuses);
          setSubscriptionsError(null);
        },
        (err: unknown) => controller.signal.aborted || setSubscriptionsError(err),
      );
    };
    look();
    const poll = setInterval(look, POLL_MS);
    return () => {
      clearInterval(poll);
      controller.abort();
    };
  }, [tick]);

  return { supervisor, subscriptions, supervisorError, subscriptionsError, refresh };
}
