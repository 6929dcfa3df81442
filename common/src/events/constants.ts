/**
 * The contracts' values that the browser's app uses, in a module without the schemas (and so
 * without zod), which the SPA's bundle would otherwise carry whole (docs/benchmarks.md, "Client
 * bundle"). The other modules of events re-export them: this is their one definition.
 */

/**
 * Where the browser sends its spans (OTLP/HTTP JSON, the OTLP path for traces), on its own origin:
 * the client's server takes them there and sends them on to the OTLP endpoint when one is configured.
 */
export const SPAN_EXPORT_PATH = '/v1/traces';

/** The `service.name` of the browser's spans: the only one the relay takes. */
export const BROWSER_SERVICE = 'browser';

/** The fault switches of one subscriber's live deliveries. All off is a healthy subscriber. */
export interface DeliveryFaults {
  /** No delivery goes out (its consumer is paused): its lag grows. */
  readonly paused: boolean;
  /** Each delivery waits this long before it goes out. */
  readonly latencyMs: number;
  /** Every delivery is refused as if the service found the events invalid: they park, to be replayed. */
  readonly failing: boolean;
}

export const NO_DELIVERY_FAULTS: DeliveryFaults = { paused: false, latencyMs: 0, failing: false };
