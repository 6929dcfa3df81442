import path from 'node:path';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { Ingress, NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { ConfigMap, Service } from 'kubernetes-models/v1';
import ts from 'typescript';
import { ROOT, type K8sObject } from './repository';

interface Kind {
  /** Validates against the Kubernetes OpenAPI schema; throws on a missing or mistyped field. */
  readonly model: new (data: never) => { validate(): void };
  /** The module and interface of kubernetes-models that types the object. */
  readonly typeModule: string;
  readonly typeName: string;
}

const KINDS: Record<string, Kind> = {
  'v1/ConfigMap': { model: ConfigMap, typeModule: 'kubernetes-models/v1/ConfigMap', typeName: 'IConfigMap' },
  'v1/Service': { model: Service, typeModule: 'kubernetes-models/v1/Service', typeName: 'IService' },
  'apps/v1/Deployment': {
    model: Deployment,
    typeModule: 'kubernetes-models/apps/v1/Deployment',
    typeName: 'IDeployment',
  },
  'apps/v1/StatefulSet': {
    model: StatefulSet,
    typeModule: 'kubernetes-models/apps/v1/StatefulSet',
    typeName: 'IStatefulSet',
  },
  'networking.k8s.io/v1/Ingress': {
    model: Ingress,
    typeModule: 'kubernetes-models/networking.k8s.io/v1/Ingress',
    typeName: 'IIngress',
  },
  'networking.k8s.io/v1/NetworkPolicy': {
    model: NetworkPolicy,
    typeModule: 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy',
    typeName: 'INetworkPolicy',
  },
};

const kindOf = (object: K8sObject): Kind | undefined => KINDS[`${object.apiVersion}/${object.kind}`];

/** The schema errors of one object, or a note that no schema for its kind is known here. */
export function schemaErrors(object: K8sObject): string[] {
  const kind = kindOf(object);
  if (!kind) return [`${object.apiVersion} ${object.kind}: no schema known for this kind`];
  try {
    new kind.model(object as never).validate();
    return [];
  } catch (err) {
    return [(err as Error).message];
  }
}

/**
 * The OpenAPI schemas behind kubernetes-models allow unknown fields, but the API server (strict
 * field validation, the kubectl default) refuses them. TypeScript's excess-property check does
 * what the schemas do not: each object is type-checked as an object literal of its
 * kubernetes-models interface, so a misspelt or misplaced field is an error, as it is for the cluster.
 */
export function unknownFieldErrors(objects: readonly K8sObject[]): string[] {
  const file = path.join(ROOT, 'infra', 'test', '__manifests__.ts');
  const source = objects
    .map((object, index) => {
      const kind = kindOf(object);
      // Two lines per object, so that a diagnostic's line names its object.
      if (!kind) return `// ${object.kind} ${object.metadata.name}: no type known\n//`;
      return `import type { ${kind.typeName} as T${index} } from '${kind.typeModule}';\nexport const o${index}: T${index} = ${JSON.stringify(object)};`;
    })
    .join('\n');
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
    module: ts.ModuleKind.Node16,
    moduleResolution: ts.ModuleResolutionKind.Node16,
    target: ts.ScriptTarget.ES2022,
  };
  const host = ts.createCompilerHost(options);
  const readFile = host.readFile.bind(host);
  const getSourceFile = host.getSourceFile.bind(host);
  host.fileExists = (name) => name === file || ts.sys.fileExists(name);
  host.readFile = (name) => (name === file ? source : readFile(name));
  host.getSourceFile = (name, languageVersion) =>
    name === file ? ts.createSourceFile(name, source, languageVersion) : getSourceFile(name, languageVersion);
  const program = ts.createProgram([file], options, host);
  return ts.getPreEmitDiagnostics(program, program.getSourceFile(file)).map((diagnostic) => {
    const { line } = diagnostic.file?.getLineAndCharacterOfPosition(diagnostic.start ?? 0) ?? { line: 0 };
    const object = objects[Math.floor(line / 2)];
    return `${object?.kind} ${object?.metadata.name}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`;
  });
}
