/**
 * What the NATS servers are configured with: the principals and their permissions, the subjects and
 * streams, a node's config file. No NATS client here, so that what writes or checks that
 * configuration (the launcher, infra's generator) loads none.
 */
export * from './server-config';
export * from './subjects';
