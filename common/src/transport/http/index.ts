import type { EventTransport } from '../transport';
import { createBusClient, type BusClientOptions } from './bus-client';
import { httpLiveDelivery, type DeliveryRouterOptions } from './delivery-router';

export * from './bus-client';
export * from './delivery-router';
export * from './subscribers';

export interface HttpTransportOptions extends BusClientOptions, DeliveryRouterOptions {}

/**
 * The HTTP event bus as a transport: publishes and reads with the bus client (authenticated with
 * `token`), and takes the bus's signed pushes on the service's own `POST /events`.
 */
export function createHttpTransport({ secrets, ...client }: HttpTransportOptions): EventTransport {
  const bus = createBusClient(client);
  return {
    publish: (event, options) => bus.publish(event, options),
    publishBatch: (events) => bus.publishBatch(events),
    readLog: (options) => bus.readLog(options),
    connect: (sink) => httpLiveDelivery(sink, { secrets }),
    // The bus being down does not make a service unready: it answers reads and retries publishes.
    isReady: () => true,
    close: async () => bus.close(),
  };
}
