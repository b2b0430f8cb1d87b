import type { KillScope } from '@leash/contracts';
import { describeScope, sameScope, scopeCovers, type KillTarget } from './kill-scope';

const target: KillTarget = { tenantId: 'acme', agent: 'support', taskId: 'task-1' };

describe('scopeCovers', () => {
  it.each<[string, KillScope, boolean]>([
    ['all', { kind: 'all' }, true],
    ['its tenant', { kind: 'tenant', tenantId: 'acme' }, true],
    ['another tenant', { kind: 'tenant', tenantId: 'globex' }, false],
    ['its agent', { kind: 'agent', agent: 'support' }, true],
    ['another agent', { kind: 'agent', agent: 'procurement' }, false],
    ['its task', { kind: 'task', taskId: 'task-1' }, true],
    ['another task', { kind: 'task', taskId: 'task-2' }, false],
  ])('a kill of %s covers the target: %s', (_name, scope, covered) => {
    expect(scopeCovers(scope, target)).toBe(covered);
  });

  it('does not confuse fields: a tenant named like the task is not the task', () => {
    expect(scopeCovers({ kind: 'tenant', tenantId: 'task-1' }, target)).toBe(false);
    expect(scopeCovers({ kind: 'agent', agent: 'acme' }, target)).toBe(false);
  });
});

describe('sameScope', () => {
  it('is true only for the same kind and the same value', () => {
    expect(sameScope({ kind: 'all' }, { kind: 'all' })).toBe(true);
    expect(sameScope({ kind: 'tenant', tenantId: 'a' }, { kind: 'tenant', tenantId: 'a' })).toBe(
      true,
    );
    expect(sameScope({ kind: 'tenant', tenantId: 'a' }, { kind: 'tenant', tenantId: 'b' })).toBe(
      false,
    );
    expect(sameScope({ kind: 'agent', agent: 'a' }, { kind: 'task', taskId: 'a' })).toBe(false);
    expect(sameScope({ kind: 'task', taskId: 't' }, { kind: 'all' })).toBe(false);
  });
});

describe('describeScope', () => {
  it('names the scope for people', () => {
    expect(describeScope({ kind: 'all' })).toBe('all');
    expect(describeScope({ kind: 'agent', agent: 'support' })).toBe('agent support');
  });
});
