/** @type {import('jest').Config} */
const shared = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
};

module.exports = {
  testTimeout: 20_000,
  projects: [
    {
      ...shared,
      displayName: 'core',
      // Every test but those needing servers of their own (Redis, PostgreSQL, a browser): test/
      // mirrors src/ (test/tokens/, test/store/, test/config/...), and a folder added there runs
      // here without being listed.
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/(redis|postgres|e2e)/', '<rootDir>/test/package/\\.consumer/'],
      globals: { EXPRESS_MAJOR: 5 },
    },
    {
      ...shared,
      // The same HTTP tests with `express` resolved to Express 4, for the library and the tests alike.
      displayName: 'express4',
      testMatch: ['<rootDir>/test/http/**/*.test.ts', '<rootDir>/test/attacks/**/*.test.ts'],
      moduleNameMapper: { ...shared.moduleNameMapper, '^express$': 'express4' },
      globals: { EXPRESS_MAJOR: 4 },
    },
    {
      ...shared,
      displayName: 'redis',
      testMatch: ['<rootDir>/test/redis/**/*.test.ts'],
      // Real redis-server processes on free loopback ports (see test/redis/global-setup.ts).
      globalSetup: '<rootDir>/test/redis/global-setup.ts',
      globalTeardown: '<rootDir>/test/redis/global-teardown.ts',
    },
    {
      ...shared,
      displayName: 'postgres',
      testMatch: ['<rootDir>/test/postgres/**/*.test.ts'],
      // A private PostgreSQL server on a free loopback port (see test/postgres/global-setup.ts).
      globalSetup: '<rootDir>/test/postgres/global-setup.ts',
      globalTeardown: '<rootDir>/test/postgres/global-teardown.ts',
    },
    {
      ...shared,
      // The HTTP tests on Redis again, with `express` resolved to Express 4.
      displayName: 'redis-express4',
      testMatch: ['<rootDir>/test/redis/http/**/*.test.ts', '<rootDir>/test/http/express-version.test.ts'],
      moduleNameMapper: { ...shared.moduleNameMapper, '^express$': 'express4' },
      globals: { EXPRESS_MAJOR: 4 },
      globalSetup: '<rootDir>/test/redis/global-setup.ts',
      globalTeardown: '<rootDir>/test/redis/global-teardown.ts',
    },
    {
      ...shared,
      // The demo page and the browser client in Debian's Chromium (playwright-core); needs the build.
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/e2e/**/*.test.ts'],
      globalSetup: '<rootDir>/test/e2e/global-setup.ts',
    },
  ],
};
