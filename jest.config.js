// Unit and component suites (npm test). Integration suites needing a container runtime live in
// jest.integration.config.js. TypeScript is transpiled by swc (no type check here; `npm run lint` type-checks).
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'es6' } },
    ],
  },
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/integration/', '<rootDir>/test/bench/'],
  testTimeout: 30000,
  maxWorkers: 2,
};
