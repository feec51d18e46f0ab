// Suites that need a container runtime (real Envoy, Kafka via testcontainers). They skip with one
// clear line when no runtime is reachable.
import base from './jest.config.js';
export default {
  ...base,
  testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/'],
  testTimeout: 300000,
};
