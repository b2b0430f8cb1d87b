// Tier 1: *.spec.ts beside the code. No I/O.
module.exports = {
  ...require('./jest.preset'),
  displayName: 'unit',
  testMatch: ['**/*.spec.ts'],
};
