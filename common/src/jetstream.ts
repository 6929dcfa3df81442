/**
 * `@mini-blog/common/jetstream`: the NATS JetStream transport, apart from the main entry so that a
 * process on the HTTP bus never loads the NATS client.
 */
export * from './transport/jetstream';
