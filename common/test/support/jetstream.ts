import pino from 'pino';
import type { TestNatsServer } from '../../src/testing/nats-server';
import {
  createJetStreamTransport,
  type JetStreamTransport,
  type JetStreamTransportOptions,
} from '../../src/transport/jetstream';

export const silentLogger = pino({ level: 'silent' });

/** Makes transports on a test server as the service `name` (its user and password), and closes them all. */
export function transportMaker(nats: () => TestNatsServer) {
  const made: JetStreamTransport[] = [];
  return {
    transport(name: string, replica = 'r1', extra: Partial<JetStreamTransportOptions> = {}): JetStreamTransport {
      const server = nats();
      const created = createJetStreamTransport({
        name,
        replica,
        servers: server.url.split(','),
        password: server.passwords[name]!,
        streamReplicas: server.ports.length,
        logger: silentLogger,
        ...extra,
      });
      made.push(created);
      return created;
    },
    async closeAll(): Promise<void> {
      await Promise.all(made.splice(0).map((transport) => transport.close()));
    },
  };
}
