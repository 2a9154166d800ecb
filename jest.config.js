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
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  testMatch: ['<rootDir>/{apps,libs,test}/**/*.spec.ts'],
  // mercurius -> @fastify/static -> content-disposition ships ES modules only; Jest on Node 20
  // loads it through require, so it is compiled to CommonJS like the project's own code.
  transformIgnorePatterns: ['/node_modules/(?!(content-disposition)/)'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/', '<rootDir>/test/corpus/'],
  globalSetup: '<rootDir>/libs/testing/src/global-setup.ts',
  globalTeardown: '<rootDir>/libs/testing/src/global-teardown.ts',
  testTimeout: 60000,
  maxWorkers: 2,
};
