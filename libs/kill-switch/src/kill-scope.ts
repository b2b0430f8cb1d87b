import type { KillScope } from '@leash/contracts';

/** What a kill is matched against: the work a call belongs to. */
export interface KillTarget {
  readonly tenantId: string;
  /** The agent profile's name (the `name` of an AgentRef). */
  readonly agent: string;
  readonly taskId: string;
}

/** True when a kill with this scope stops work on the target. */
export function scopeCovers(scope: KillScope, target: KillTarget): boolean {
  switch (scope.kind) {
    case 'all':
      return true;
    case 'tenant':
      return scope.tenantId === target.tenantId;
    case 'agent':
      return scope.agent === target.agent;
    case 'task':
      return scope.taskId === target.taskId;
  }
}

/** True when both name the same scope: a resume lifts exactly the kills of its own scope. */
export function sameScope(a: KillScope, b: KillScope): boolean {
  switch (a.kind) {
    case 'all':
      return b.kind === 'all';
    case 'tenant':
      return b.kind === 'tenant' && b.tenantId === a.tenantId;
    case 'agent':
      return b.kind === 'agent' && b.agent === a.agent;
    case 'task':
      return b.kind === 'task' && b.taskId === a.taskId;
  }
}

/** `all`, `tenant acme`, ...: for logs, refusals and the CLI. */
export function describeScope(scope: KillScope): string {
  switch (scope.kind) {
    case 'all':
      return 'all';
    case 'tenant':
      return `tenant ${scope.tenantId}`;
    case 'agent':
      return `agent ${scope.agent}`;
    case 'task':
      return `task ${scope.taskId}`;
  }
}
