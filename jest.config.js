// ESM: Nest 12 ships ES modules only, so Jest runs with --experimental-vm-modules and @swc/jest.
const libs = ['oci', 'config', 'store', 'registry', 'webhooks', 'ingest', 'verify', 'answers', 'testing'];

/** @type {import('jest').Config} */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.[tj]s$': [
      '@swc/jest',
      {
        jsc: {
          parser: { syntax: 'typescript', decorators: true },
          transform: { legacyDecorator: true, decoratorMetadata: true },
          target: 'es2022',
        },
        module: { type: 'es6' },
      },
    ],
  },
  moduleNameMapper: {
    ...Object.fromEntries(libs.map((l) => [`^#${l}$`, `<rootDir>/libs/${l}/src/index.ts`])),
    '^#ingest/sync$': '<rootDir>/libs/ingest/src/sync-entry.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  testMatch: ['<rootDir>/{apps,libs,test}/**/*.spec.ts'],
  // Packages that ship ES modules only but are loaded through require on Node 20: mercurius ->
  // @fastify/static -> content-disposition, and @sigstore/sign -> make-fetch-happen ->
  // @npmcli/agent -> the proxy agents. They are compiled to CommonJS like the project's own code
  // (wherever npm nested them); everything else under node_modules is left as it is.
  transformIgnorePatterns: [
    '^(?!.*/node_modules/(?:content-disposition|agent-base|http-proxy-agent|https-proxy-agent|socks-proxy-agent|proxy-agent-negotiate|p-map)/).*/node_modules/',
  ],
  testPathIgnorePatterns: ['/node_modules/', '/dist/', '<rootDir>/test/corpus/'],
  globalSetup: '<rootDir>/libs/testing/src/global-setup.ts',
  globalTeardown: '<rootDir>/libs/testing/src/global-teardown.ts',
  testTimeout: 60000,
  maxWorkers: 2,
};
