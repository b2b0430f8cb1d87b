import { nestLogLevels } from './log-level';

describe('nestLogLevels', () => {
  it('prints the level and everything more severe', () => {
    expect(nestLogLevels('info')).toEqual(['fatal', 'error', 'warn', 'log']);
    expect(nestLogLevels('fatal')).toEqual(['fatal']);
    expect(nestLogLevels('verbose')).toHaveLength(6);
  });
});
