import {
  publishAclSetting,
  SERVICE_NAMES,
  SERVICES,
  subscribersSetting,
  traceSourcesSetting,
  type ServiceEntry,
} from '@mini-blog/common/registry';
import { labels } from './names';
import { CONFIG_MAP, k8sServiceUrl } from './services';
import { noted, type YamlDocument } from './yaml-file';

/** The settings every service shares, and each service's own settings (the registry's `settings`). */
export function configDocuments(): YamlDocument[] {
  const own = Object.assign(
    {},
    ...SERVICE_NAMES.map((name) => (SERVICES[name] as ServiceEntry).settings ?? {}),
  ) as Record<string, string>;
  return [
    {
      comment: `Settings shared by the services; the workloads read single keys from here, so each pod gets
only what it uses. A change takes effect at the next start of the pods that read it:
  kubectl rollout restart statefulset/event-bus   (SUBSCRIBERS, PUBLISH_ACL)`,
      value: {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: CONFIG_MAP, labels: labels(CONFIG_MAP, 'config') },
        data: {
          BUS_URL: k8sServiceUrl('event-bus'),
          LOG_LEVEL: 'info',
          TRUSTED_PROXIES: noted(
            "The proxies whose X-Forwarded-For is believed (the ingress controller's or Envoy's pods): the\nservices bound live streams and connections per client by the address they forward. Any pod\naddress here; the NetworkPolicies let only the proxy and the bus reach the services' ports.",
            '10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7',
          ),
          ...own,
          PUBLISH_ACL: noted(
            'Which principal may publish which event types (publishAclSetting of the registry); the bus\nrefuses any other with 403.',
            publishAclSetting(),
          ),
          SUBSCRIBERS: noted(
            'name=url|options (docs/architecture.md): each subscriber sent exactly the types it needs live\n(subscribersSetting of the registry), not its own events.',
            subscribersSetting((name) => `${k8sServiceUrl(name)}/events`),
          ),
          TRACE_SOURCES: noted(
            "name=url of every service whose recent spans the bus's views gather for GET /traces/:traceId\n(traceSourcesSetting of the registry): each answers on its own port, which only the bus may reach.",
            traceSourcesSetting(k8sServiceUrl),
          ),
        },
      },
    },
  ];
}
