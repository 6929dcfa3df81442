import path from 'node:path';
import { SPAN_EXPORT_PATH } from '@mini-blog/common/events';
import { SERVICES, SUBSCRIBER_NAMES, traceSourcesSetting } from '@mini-blog/common/registry';
import { parse } from 'yaml';
import { schemaErrors, unknownFieldErrors } from './support/kubernetes-schemas';
import { hasKubectl, kubectlKustomize } from './support/kustomize';
import { loadSkaffold, ROOT, skaffoldVariants, workloadsOf, type K8sObject } from './support/repository';

/**
 * infra/k8s-tracing: the OpenTelemetry Collector and Jaeger as an optional component, checked
 * offline: what it renders, that the services' spans reach Jaeger through the collector, and that
 * nothing of it is public. And the setting every variant needs for the trace view: where the bus's
 * views gather a trace from.
 */

const OVERLAY = path.join(ROOT, 'infra', 'k8s-tracing');
const find = (objects: readonly K8sObject[], kind: string, name: string) =>
  objects.find((object) => object.kind === kind && object.metadata.name === name);
const servicePort = (objects: readonly K8sObject[], name: string, port: string) =>
  (find(objects, 'Service', name)?.spec?.ports as { name: string; port: number }[] | undefined)?.find(
    (entry) => entry.name === port,
  )?.port;

(hasKubectl ? describe : describe.skip)('infra/k8s-tracing: the blog with a Collector and Jaeger', () => {
  const objects = kubectlKustomize(OVERLAY);
  const workloads = workloadsOf(objects);
  const config = find(objects, 'ConfigMap', 'mini-blog-config')!;

  it('renders objects that validate against the Kubernetes schemas, with no unknown field', () => {
    expect(
      objects.flatMap((object) =>
        schemaErrors(object).map((error) => `${object.kind} ${object.metadata.name}: ${error}`),
      ),
    ).toEqual([]);
    expect(unknownFieldErrors(objects)).toEqual([]);
  });

  it("runs the projects' own images of the Collector and Jaeger, at pinned versions", () => {
    const images = Object.fromEntries(
      workloads
        .filter((workload) => ['otel-collector', 'jaeger'].includes(workload.name))
        .map((workload) => [workload.name, workload.pod.containers[0]!.image]),
    );

    expect(images['otel-collector']).toMatch(/^otel\/opentelemetry-collector:\d+\.\d+\.\d+$/);
    expect(images.jaeger).toMatch(/^jaegertracing\/jaeger:\d+\.\d+\.\d+$/);
  });

  it("sends every process's spans to the collector, and the collector's to Jaeger", () => {
    const endpoint = new URL(config.data!.OTEL_EXPORTER_OTLP_ENDPOINT!);
    expect(endpoint.hostname).toBe('otel-collector');
    expect(Number(endpoint.port)).toBe(servicePort(objects, 'otel-collector', 'otlp-http'));
    // The client's server sends on the browser's spans (common/src/service/span-relay.ts).
    for (const name of [...SUBSCRIBER_NAMES, 'event-bus', 'client']) {
      const env = workloads.find((workload) => workload.name === name)!.pod.containers[0]!.env ?? [];
      expect(
        env.find((entry) => entry.name === 'OTEL_EXPORTER_OTLP_ENDPOINT')?.valueFrom?.configMapKeyRef,
      ).toMatchObject({
        name: 'mini-blog-config',
        key: 'OTEL_EXPORTER_OTLP_ENDPOINT',
      });
    }
    const collector = parse(find(objects, 'ConfigMap', 'otel-collector-config')!.data!['config.yaml']!) as {
      receivers: { otlp: { protocols: { http: { endpoint: string } } } };
      exporters: { otlp: { endpoint: string } };
      service: { pipelines: { traces: { receivers: string[]; exporters: string[] } } };
    };
    expect(collector.receivers.otlp.protocols.http.endpoint).toBe(`0.0.0.0:${endpoint.port}`);
    expect(collector.exporters.otlp.endpoint).toBe(`jaeger:${servicePort(objects, 'jaeger', 'otlp-grpc')}`);
    expect(collector.service.pipelines.traces).toMatchObject({ receivers: ['otlp'], exporters: ['otlp'] });
  });

  it('makes nothing of it public: the Ingress objects are those of infra/k8s, Jaeger takes OTLP from the collector only', () => {
    const base = kubectlKustomize(path.join(ROOT, 'infra', 'k8s')).filter((object) => object.kind === 'Ingress');
    expect(objects.filter((object) => object.kind === 'Ingress')).toEqual(base);
    const jaeger = find(objects, 'NetworkPolicy', 'jaeger')!.spec as {
      ingress: { from: { podSelector: { matchLabels: Record<string, string> } }[]; ports: { port: number }[] }[];
    };
    expect(jaeger.ingress).toEqual([
      {
        from: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'otel-collector' } } }],
        ports: [{ protocol: 'TCP', port: servicePort(objects, 'jaeger', 'otlp-grpc') }],
      },
    ]);
  });

  it('lets every pod of the blog send to the collector, and the collector reach only DNS and Jaeger: the default deny stops the rest', () => {
    const otlpPort = servicePort(objects, 'otel-collector', 'otlp-http');
    const exporters = find(objects, 'NetworkPolicy', 'otlp-export')!.spec as {
      podSelector: { matchLabels: Record<string, string> };
      policyTypes: string[];
      egress: unknown[];
    };
    expect(exporters.podSelector.matchLabels).toEqual({ 'app.kubernetes.io/part-of': 'mini-blog' });
    expect(exporters.policyTypes).toEqual(['Egress']);
    expect(exporters.egress).toEqual([
      {
        to: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'otel-collector' } } }],
        ports: [{ protocol: 'TCP', port: otlpPort }],
      },
    ]);
    for (const workload of workloads.filter((candidate) =>
      candidate.pod.containers.some((container) =>
        container.env?.some((entry) => entry.name === 'OTEL_EXPORTER_OTLP_ENDPOINT'),
      ),
    ))
      expect([workload.name, workload.podLabels['app.kubernetes.io/part-of']]).toEqual([workload.name, 'mini-blog']);
    const collector = find(objects, 'NetworkPolicy', 'otel-collector')!.spec as {
      policyTypes: string[];
      egress: { to: { podSelector: { matchLabels: Record<string, string> } }[]; ports: { port: number }[] }[];
    };
    expect(collector.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(
      collector.egress.map((rule) => [rule.to[0]!.podSelector.matchLabels, rule.ports.map((p) => p.port)]),
    ).toEqual([
      [{ 'k8s-app': 'kube-dns' }, [53, 53]],
      [{ 'app.kubernetes.io/name': 'jaeger' }, [servicePort(objects, 'jaeger', 'otlp-grpc')]],
    ]);
  });

  it("routes the browser's span exports to the client's server, which bounds them per client and sends them on; never to the collector", () => {
    const client = workloads.find((workload) => workload.name === 'client')!.pod.containers[0]!.env ?? [];
    expect(client.find((entry) => entry.name === 'TRUSTED_PROXIES')?.valueFrom?.configMapKeyRef?.key).toBe(
      'TRUSTED_PROXIES',
    );
    const paths = objects
      .filter((object) => object.kind === 'Ingress')
      .flatMap(
        (object) =>
          (
            object.spec as {
              rules: {
                http: { paths: { path: string; backend: { service: { name: string; port: { number: number } } } }[] };
              }[];
            }
          ).rules[0]!.http.paths,
      );
    expect(paths.filter((entry) => entry.path === SPAN_EXPORT_PATH).map((entry) => entry.backend.service)).toEqual([
      { name: 'client-srv', port: { number: SERVICES.client.port } },
    ]);
    expect(paths.filter((entry) => entry.backend.service.name === 'otel-collector')).toEqual([]);
  });

  it('renders the dev variant as well', () => {
    expect(
      kubectlKustomize(path.join(OVERLAY, 'dev')).map((object) => `${object.kind} ${object.metadata.name}`),
    ).toEqual(objects.map((object) => `${object.kind} ${object.metadata.name}`));
  });

  it('goes over the JetStream overlay too: the views there gather traces from the same sources', () => {
    const jetstream = kubectlKustomize(path.join(ROOT, 'infra', 'k8s-jetstream'));
    const views = workloadsOf(jetstream).find((workload) => workload.name === 'event-views')!;
    expect(
      views.pod.containers[0]!.env?.find((entry) => entry.name === 'TRACE_SOURCES')?.valueFrom?.configMapKeyRef,
    ).toMatchObject({
      key: 'TRACE_SOURCES',
    });
  });
});

(hasKubectl ? describe : describe.skip)('where the bus gathers traces from, in the cluster', () => {
  it('is every event-driven service at its Service and port, read by the bus', () => {
    const objects = kubectlKustomize(path.join(ROOT, 'infra', 'k8s'));
    expect(find(objects, 'ConfigMap', 'mini-blog-config')!.data!.TRACE_SOURCES).toBe(
      traceSourcesSetting((name) => `http://${name}-srv:${SERVICES[name].port}`),
    );
    const bus = workloadsOf(objects).find((workload) => workload.name === 'event-bus')!;
    expect(bus.pod.containers[0]!.env?.some((entry) => entry.name === 'TRACE_SOURCES')).toBe(true);
  });
});

describe('the skaffold profile tracing', () => {
  it('deploys the dev variant of infra/k8s-tracing with the default images', () => {
    const variants = skaffoldVariants(loadSkaffold());
    const tracing = variants.find((variant) => variant.name === 'tracing');

    expect(tracing?.manifests.kustomize?.paths).toEqual(['infra/k8s-tracing/dev']);
    expect(tracing?.build).toEqual(variants.find((variant) => variant.name === 'default')?.build);
  });
});
