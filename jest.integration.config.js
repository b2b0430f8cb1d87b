// Tier 2: real embedded engines, real sockets, child processes.
module.exports = {
  ...require('./jest.preset'),
  displayName: 'integration',
  testMatch: ['**/*.integration-spec.ts'],
  testTimeout: 60_000,
};
