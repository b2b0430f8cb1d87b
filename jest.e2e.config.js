// Tier 3: the whole system through its public entry points (CLI, HTTP, topics).
module.exports = {
  ...require('./jest.preset'),
  displayName: 'e2e',
  testMatch: ['**/*.e2e-spec.ts'],
  testTimeout: 120_000,
  passWithNoTests: true,
};
