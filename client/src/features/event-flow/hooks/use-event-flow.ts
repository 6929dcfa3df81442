import { useEffect, useReducer, useState } from 'react';
import type { StreamStatus } from '../../../lib/api';
import { fetchFlowTail, fetchSubscriptions, openFlowStream } from '../api/flow-api';
import { FLOW_WINDOW, flowReducer, initialFlow, type FlowState } from '../model/flow-state';

/** Retries, parked counts and errors change without a stream message, so they are polled. */
const SUBSCRIPTIONS_POLL_MS = 2000;

export interface EventFlow extends FlowState {
  readonly status: StreamStatus;
  readonly logError: unknown;
  readonly subscriptionsError: unknown;
}

/**
 * The bus's log and subscribers, live. The flow stream replays nothing, so every time it opens
 * (first time or after a drop) the tail of the log is read again; the overlap is harmless.
 */
export function useEventFlow(): EventFlow {
  const [state, dispatch] = useReducer(flowReducer, initialFlow);
  const [status, setStatus] = useState<StreamStatus>('connecting');
  const [logError, setLogError] = useState<unknown>(null);
  const [subscriptionsError, setSubscriptionsError] = useState<unknown>(null);

  useEffect(() => {
    const controller = new AbortController();
    let newestSeq = 0;

    const readTail = async () => {
      try {
        const page = await fetchFlowTail(newestSeq, FLOW_WINDOW, controller.signal);
        newestSeq = Math.max(newestSeq, page.events.at(-1)?.seq ?? 0);
        dispatch({ type: 'tailLoaded', page });
        setLogError(null);
      } catch (err) {
        if (!controller.signal.aborted) setLogError(err);
      }
    };
    const readSubscriptions = async () => {
      try {
        const subscriptions = await fetchSubscriptions(controller.signal);
        dispatch({ type: 'subscriptionsLoaded', subscriptions });
        setSubscriptionsError(null);
      } catch (err) {
        if (!controller.signal.aborted) setSubscriptionsError(err);
      }
    };

    const close = openFlowStream({
      onOpen: () => {
        void readTail();
        void readSubscriptions();
      },
      onAppended: (event) => {
        newestSeq = Math.max(newestSeq, event.seq);
        dispatch({ type: 'appended', event });
      },
      onDelivered: (delivery) => dispatch({ type: 'delivered', delivery }),
      onStatus: (next) => {
        setStatus(next);
        // Without a stream, the last known state is still worth reading, or the reason it cannot be.
        if (next === 'reconnecting') void readTail();
      },
    });
    void readSubscriptions();
    const poll = setInterval(() => void readSubscriptions(), SUBSCRIPTIONS_POLL_MS);
    return () => {
      close();
      clearInterval(poll);
      controller.abort();
    };
  }, []);

  return { ...state, status, logError, subscriptionsError };
}
