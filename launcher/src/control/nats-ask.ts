import type { ServiceFaults } from '@mini-blog/common/events';
import { AppError } from '@mini-blog/common/service';
import type * as JetStream from '@mini-blog/common/transport/jetstream';
import type { AskService } from './switchboard';

interface NatsClient {
  readonly jetstream: typeof JetStream;
  readonly link: ReturnType<typeof JetStream.createLink>;
}

/** How long a running service may take to answer: it answers from its event loop, not after its work. */
const ANSWER_TIMEOUT_MS = 2000;

/**
 * Asks JetStream services for their switches as `admin` (the only user who may publish on a fault
 * subject), on a connection of the launcher's own, opened at the first question. The NATS client is
 * loaded then too, so that a launcher on the HTTP bus never loads it.
 */
export function natsAsk(
  servers: readonly string[],
  adminPassword: string,
): { ask: AskService; close(): Promise<void> } {
  let client: Promise<NatsClient> | undefined;
  const connect = () =>
    (client ??= import('@mini-blog/common/transport/jetstream').then((jetstream) => ({
      jetstream,
      link: jetstream.createLink({
        servers,
        user: 'admin',
        password: adminPassword,
        connectionName: 'launcher-switches',
        streamReplicas: 1,
        timeoutMs: ANSWER_TIMEOUT_MS,
        ensureStreams: false,
      }),
    })));
  const ask: AskService = async (service, change) => {
    const { jetstream, link } = await connect();
    let connection;
    try {
      ({ connection } = await link.get());
    } catch {
      throw new AppError(503, 'nats: unavailable (the services hear their switches through it)');
    }
    let text: string;
    try {
      const body = change === undefined ? '' : JSON.stringify(change);
      text = (await jetstream.askSwitches(connection, service, body, ANSWER_TIMEOUT_MS)).string();
    } catch (err) {
      if (jetstream.isNoResponders(err)) return undefined;
      throw new AppError(503, `${service}: did not answer within ${ANSWER_TIMEOUT_MS} ms`);
    }
    const answer = JSON.parse(text) as ServiceFaults | { error: string };
    if ('error' in answer) throw new AppError(400, answer.error);
    return answer;
  };
  return { ask, close: async () => (client ? (await client).link.close() : undefined) };
}
