import { ADMIN } from '@mini-blog/common/auth';
import { PUBLISHER_NAMES, SERVICE_NAMES, SUBSCRIBER_NAMES } from '@mini-blog/common/registry';
import { ROUTE_CREDENTIAL, VIEWS_PRINCIPAL } from '@mini-blog/common/transport/jetstream/nats-config';
import { flow, noted, type YamlDocument } from './yaml-file';

/** What the scripts of infra/scripts need of the registry, for them to run without a build (registry.mjs reads it). */
export function scriptsRegistryDocuments(): YamlDocument[] {
  return [
    {
      comment: 'The registry as the scripts of infra/scripts read it (registry.mjs): they run without a build.',
      value: {
        images: noted('An image per process, named mini-blog/<name>.', flow([...SERVICE_NAMES])),
        principals: noted(
          'A credential each on the HTTP bus: every service that publishes or consumes events, and the operator.',
          flow([...new Set<string>([...PUBLISHER_NAMES, ...SUBSCRIBER_NAMES]), ADMIN]),
        ),
        subscribers: noted(
          'The services that consume events: each has admin routes (ADMIN_TOKEN_SHA256, mini-blog-admin-verifiers).',
          flow([...SUBSCRIBER_NAMES]),
        ),
        jetstreamPrincipals: noted(
          "A credential each on JetStream besides: the read-only views and the NATS cluster's routes.",
          flow([VIEWS_PRINCIPAL, ROUTE_CREDENTIAL]),
        ),
      },
    },
  ];
}
