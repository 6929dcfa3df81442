import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BusClient, DeliverySink } from './types';

/**
 * The seam between the services and the log they share. A transport (the HTTP event bus in
 * `./http`, NATS JetStream in `./jetstream`) implements `EventTransport`; the consumer engine and the
 * services see only this, so switching transports changes no service code.
 */

/**
 * A request handler in Node's own terms (connect-style middleware: it answers, or passes the request
 * on with `next`), so that the seam names no web framework; the service kit mounts it on its app.
 */
export type DeliveryHandler = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void;

/**
 * How events reach a service live. The HTTP transport answers the bus's pushes on the service's own
 * server (`handler`); a pull transport starts fetching once the sink is ready and needs neither.
 */
export interface LiveDelivery {
  /** Mounted on the service's app before its own routes (the HTTP transport's `POST /events`). */
  readonly handler?: DeliveryHandler;
  /** The paths the handler answers: for other services, not browsers, so never given a CORS answer. */
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
