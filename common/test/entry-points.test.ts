import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import path from 'node:path';
import ts from 'typescript';

/**
 * common is split by concern, one entry point each (package.json's `exports`, docs/architecture.md):
 * what the browser may import loads nothing of Node, and the transport seam names no web framework
 * and no HTTP status, so that a transport is free of both.
 */

const ROOT = path.resolve(__dirname, '..', '..');
const COMMON = path.join(ROOT, 'common');
const exportsMap = (
  JSON.parse(readFileSync(path.join(COMMON, 'package.json'), 'utf8')) as {
    exports: Record<string, { types: string; default: string }>;
  }
).exports;

/** The source of an entry point: `@mini-blog/common/events` → common/src/events/index.ts. */
function sourceOf(specifier: string): string {
  const entry = exportsMap[`.${specifier.slice('@mini-blog/common'.length)}`];
  if (!entry) throw new Error(`${specifier}: common's package.json exports no such entry`);
  return path.join(COMMON, entry.default.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts'));
}

/**
 * The modules a file loads as it is loaded: what it imports or re-exports, but not a type-only import
 * (compiled away) nor an `import()`, which loads a module only when it runs (the transport chooser's).
 */
function specifiersOf(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest);
  return source.statements.flatMap((statement) => {
    if (ts.isImportDeclaration(statement) && !statement.importClause?.isTypeOnly)
      return [(statement.moduleSpecifier as ts.StringLiteral).text];
    if (ts.isExportDeclaration(statement) && !statement.isTypeOnly && statement.moduleSpecifier)
      return [(statement.moduleSpecifier as ts.StringLiteral).text];
    return [];
  });
}

function resolveRelative(from: string, specifier: string): string {
  const base = path.resolve(path.dirname(from), specifier.replace(/\.js$/, ''));
  const found = [`${base}.ts`, `${base}.tsx`, path.join(base, 'index.ts')].find((file) => existsSync(file));
  if (!found) throw new Error(`${path.relative(ROOT, from)}: cannot resolve ${specifier}`);
  return found;
}

/** Every file of common an entry point loads, and the packages (not followed) they import. */
function moduleGraph(entry: string): { files: string[]; packages: string[] } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    for (const specifier of specifiersOf(file)) {
      if (specifier.startsWith('.')) visit(resolveRelative(file, specifier));
      else packages.add(specifier);
    }
  };
  visit(entry);
  return { files: [...files].map((file) => path.relative(ROOT, file)), packages: [...packages] };
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(file);
    return /\.tsx?$/.test(entry.name) ? [file] : [];
  });
}

describe("common's entry points", () => {
  it('has no root entry (nobody imports the whole library), and each entry has its source', () => {
    expect(Object.keys(exportsMap)).not.toContain('.');
    for (const entry of Object.keys(exportsMap))
      expect(existsSync(sourceOf(`@mini-blog/common${entry.slice(1)}`))).toBe(true);
  });
});

describe('what the browser loads of common', () => {
  /**
   * The entries the SPA may import: the contracts (their types; their values from the constants),
   * and the span buffer its own tracing keeps.
   */
  const BROWSER_ENTRIES = [
    '@mini-blog/common/events',
    '@mini-blog/common/events/constants',
    '@mini-blog/common/tracing/recent-spans',
  ];
  /** The test helpers for tests that run in a browser-like environment (the client's, under jsdom). */
  const BROWSER_TEST_ENTRIES = ['@mini-blog/common/testing/browser'];

  it("is the browser-safe entries only: the client's sources import no other part of common", () => {
    const imported = new Set(
      sourceFiles(path.join(ROOT, 'client', 'src')).flatMap((file) =>
        specifiersOf(file).filter((specifier) => specifier.startsWith('@mini-blog/common')),
      ),
    );
    expect(imported).toContain('@mini-blog/common/events/constants');
    expect([...imported].filter((specifier) => !BROWSER_ENTRIES.includes(specifier))).toEqual([]);
  });

  it("takes only types from the contracts' schemas: a value comes from the constants or the span buffer, which load no zod", () => {
    const valueImports = sourceFiles(path.join(ROOT, 'client', 'src')).flatMap((file) =>
      specifiersOf(file).filter((specifier) => specifier === '@mini-blog/common/events'),
    );
    expect(valueImports).toEqual([]);
    for (const entry of ['@mini-blog/common/events/constants', '@mini-blog/common/tracing/recent-spans'])
      expect(moduleGraph(sourceOf(entry)).packages).not.toContain('zod');
  });

  it.each([...BROWSER_ENTRIES, ...BROWSER_TEST_ENTRIES])('%s: its module graph imports no Node module', (entry) => {
    const { files, packages } = moduleGraph(sourceOf(entry));
    expect(files.length).toBeGreaterThan(0);
    expect(packages.filter((specifier) => specifier.startsWith('node:') || isBuiltin(specifier))).toEqual([]);
  });

  it('the check can see a Node module (the service kit imports several)', () => {
    const { packages } = moduleGraph(sourceOf('@mini-blog/common/service'));
    expect(packages.filter((specifier) => specifier.startsWith('node:')).length).toBeGreaterThan(0);
  });
});

/**
 * What the exports of an entry point name, through common's own types: the files where every type
 * they reach outside common is declared (Express's, Node's, pino's...), the names of the properties of
 * common's own types, and every number literal type on the way.
 */
function reachedTypes(entry: string): { externalFiles: Set<string>; properties: Set<string>; numbers: Set<number> } {
  const program = ts.createProgram([entry], {
    module: ts.ModuleKind.Node16,
    moduleResolution: ts.ModuleResolutionKind.Node16,
    target: ts.ScriptTarget.ES2022,
    types: ['node'],
    skipLibCheck: true,
    noEmit: true,
  });
  const checker = program.getTypeChecker();
  const externalFiles = new Set<string>();
  const properties = new Set<string>();
  const numbers = new Set<number>();
  const seen = new Set<ts.Type>();
  const ownFile = (declaration: ts.Declaration) =>
    declaration.getSourceFile().fileName.startsWith(path.join(COMMON, 'src'));

  const visitSymbol = (symbol: ts.Symbol, at: ts.Node) => {
    const declarations = symbol.declarations ?? [];
    for (const declaration of declarations)
      if (!ownFile(declaration)) externalFiles.add(path.relative(ROOT, declaration.getSourceFile().fileName));
    if (declarations.length > 0 && !declarations.some(ownFile)) return;
    if (symbol.flags & (ts.SymbolFlags.Property | ts.SymbolFlags.Method)) properties.add(symbol.name);
    visitType(checker.getTypeOfSymbolAtLocation(symbol, at), at);
  };
  const visitSignature = (signature: ts.Signature, at: ts.Node) => {
    for (const parameter of signature.getParameters()) visitSymbol(parameter, at);
    visitType(signature.getReturnType(), at);
  };
  function visitType(type: ts.Type, at: ts.Node): void {
    if (seen.has(type)) return;
    seen.add(type);
    if (type.isNumberLiteral()) numbers.add(type.value);
    const symbol = type.aliasSymbol ?? type.getSymbol();
    const declarations = symbol?.declarations ?? [];
    if (declarations.length > 0 && !declarations.some(ownFile)) {
      for (const declaration of declarations)
        externalFiles.add(path.relative(ROOT, declaration.getSourceFile().fileName));
      for (const argument of type.aliasTypeArguments ?? []) visitType(argument, at);
      if (type.flags & ts.TypeFlags.Object && (type as ts.ObjectType).objectFlags & ts.ObjectFlags.Reference)
        for (const argument of checker.getTypeArguments(type as ts.TypeReference)) visitType(argument, at);
      return;
    }
    if (type.isUnionOrIntersection()) for (const member of type.types) visitType(member, at);
    for (const argument of type.aliasTypeArguments ?? []) visitType(argument, at);
    if (type.flags & ts.TypeFlags.Object) {
      if ((type as ts.ObjectType).objectFlags & ts.ObjectFlags.Reference)
        for (const argument of checker.getTypeArguments(type as ts.TypeReference)) visitType(argument, at);
      for (const property of type.getProperties()) visitSymbol(property, at);
      for (const signature of [...type.getCallSignatures(), ...type.getConstructSignatures()])
        visitSignature(signature, at);
      if (type.isClassOrInterface()) for (const base of checker.getBaseTypes(type)) visitType(base, at);
    }
  }

  const source = program.getSourceFile(entry)!;
  for (const exported of checker.getExportsOfModule(checker.getSymbolAtLocation(source)!)) {
    const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    const at = symbol.declarations?.[0] ?? source;
    if (symbol.flags & (ts.SymbolFlags.Type | ts.SymbolFlags.Class))
      visitType(checker.getDeclaredTypeOfSymbol(symbol), at);
    if (symbol.flags & ts.SymbolFlags.Value) visitType(checker.getTypeOfSymbolAtLocation(symbol, at), at);
  }
  return { externalFiles, properties, numbers };
}

const isExpress = (file: string) => /node_modules\/(@types\/)?express(-serve-static-core)?\//.test(file);
const isHttpStatus = (value: number) => value >= 100 && value <= 599 && Number.isInteger(value);

describe('the transport seam (@mini-blog/common/transport)', () => {
  const seam = reachedTypes(sourceOf('@mini-blog/common/transport'));

  it('names no Express type: a delivery handler is in Node’s own terms', () => {
    expect([...seam.externalFiles].filter(isExpress)).toEqual([]);
    expect(seam.properties).toContain('publish');
    expect([...seam.externalFiles].some((file) => file.includes('@types/node/http.d.ts'))).toBe(true);
  });

  it('names no HTTP status: no status property and no status number in its types and errors', () => {
    expect([...seam.properties].filter((name) => /status/i.test(name))).toEqual([]);
    expect([...seam.numbers].filter(isHttpStatus)).toEqual([]);
  });

  it('the check can see Express and a status (the HTTP transport and the service kit name them)', () => {
    expect([...reachedTypes(sourceOf('@mini-blog/common/transport/http')).externalFiles].some(isExpress)).toBe(true);
    expect(reachedTypes(sourceOf('@mini-blog/common/service')).properties).toContain('status');
  });

  it('loads no web framework (a transport loads its own when chosen)', () => {
    const { files, packages } = moduleGraph(sourceOf('@mini-blog/common/transport'));
    expect(files).toContain('common/src/transport/transport.ts');
    expect(packages.filter((specifier) => /^(express|cors)$/.test(specifier))).toEqual([]);
  });

  it("loads not the service kit's config (its env parsing and zod): ConfigError has a module of its own", () => {
    const { files, packages } = moduleGraph(sourceOf('@mini-blog/common/transport'));
    expect(files).toContain('common/src/service/config-error.ts');
    expect(files).not.toContain('common/src/service/config.ts');
    expect(packages).not.toContain('zod');
  });

  it('the check can see the config module (the service kit loads it, and zod with it)', () => {
    const { files, packages } = moduleGraph(sourceOf('@mini-blog/common/service'));
    expect(files).toContain('common/src/service/config.ts');
    expect(packages).toContain('zod');
  });
});

describe('what an instrumentation loads of common', () => {
  it('@mini-blog/common/tracing: no web framework, which its instrumentations must patch as it is first required', () => {
    const { packages } = moduleGraph(sourceOf('@mini-blog/common/tracing'));

    expect(packages).toContain('@opentelemetry/sdk-trace-node');
    expect(packages.filter((specifier) => /^(express|cors)$/.test(specifier))).toEqual([]);
  });
});
