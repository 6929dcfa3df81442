import type { Express } from 'express';
import type { BusClient, DeliverySink } from './types';

/**
 * The seam between the services and the log they share. A transport (the HTTP event bus in
 * `./http`, NATS JetStream in `./jetstream`) implements `EventTransport`; the consumer engine and the
 * services see only this, so switching transports changes no service code.
 */

/**
 * How events reach a service live. The HTTP transport answers the bus's pushes on a route of the
 * service's own app (`routes`); a pull transport starts fetching once the sink is ready.
 */
export interface LiveDelivery {
  /** Adds the delivery routes to the service's app (the HTTP transport's `POST /events`). */
  readonly routes?: (app: Express) => void;
  /** The paths those routes answer: for other services, not browsers, so never given a CORS answer. */
  readonly paths?: readonly string[];
}

export interface EventTransport extends BusClient {
  /** Connects live delivery to the engine; called once per service. */
  connect(sink: DeliverySink): LiveDelivery;
  /** Whether the transport can deliver and publish now (a lost NATS connection, say); readiness includes it. */
  isReady(): boolean;
  /** Stops live delivery and closes connections (on shutdown). */
  close(): Promise<void>;
}
