// Shared jest settings: every workspace's jest.config.js spreads this and adds its own displayName.
// Tests import @mini-blog/common from source, so they never need a build first.
const path = require('node:path');
const { exports: commonEntries } = require('./common/package.json');

// Each entry point of common's package.json (`./dist/service/index.js`) as its source
// (`common/src/service/index.ts`): a path common does not export fails here as it does under Node.
const commonSources = Object.fromEntries(
  Object.entries(commonEntries).map(([entry, { default: built }]) => [
    `^@mini-blog/common${entry.slice(1)}$`,
    path.join(__dirname, 'common', built.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts')),
  ]),
);

module.exports = {
  testEnvironment: 'node',
  testMatch: ['<rootDir>/test/**/*.test.ts', '<rootDir>/test/**/*.test.tsx'],
  moduleNameMapper: {
    ...commonSources,
    '^@mini-blog/infra$': path.join(__dirname, 'infra/src/index.ts'),
    // A dynamic import names the compiled file (`./jetstream/index.js`, as Node's ESM loader needs);
    // under jest the source beside it is loaded instead.
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  // The SDK's OTLP/HTTP exporter loads `http` with `import()`, which jest runs only under
  // --experimental-vm-modules: compiled like our sources, it becomes a require, and a process under
  // test (the gateway of an in-process system) sends its spans as it does outside jest.
  transformIgnorePatterns: ['/node_modules/(?!@opentelemetry/otlp-exporter-base/)'],
  transform: {
    '^.+\\.(t|j)sx?$': [
      '@swc/jest',
      {
        jsc: {
          parser: { syntax: 'typescript', tsx: true },
          target: 'es2022',
          transform: { react: { runtime: 'automatic' } },
        },
        module: { type: 'commonjs' },
      },
    ],
  },
};
