import type { KillScope, KillV1 } from '@leash/contracts';

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

/** The command that lifts the kills of this scope. */
export function resumeCommand(scope: KillScope): string {
  switch (scope.kind) {
    case 'all':
      return 'bin/leash resume --all';
    case 'tenant':
      return `bin/leash resume --tenant ${scope.tenantId}`;
    case 'agent':
      return `bin/leash resume --agent ${scope.agent}`;
    case 'task':
      return `bin/leash resume --task ${scope.taskId}`;
  }
}

type KillFacts = Pick<KillV1, 'commandId' | 'scope' | 'reason' | 'issuedBy' | 'issuedAt'>;

/** A kill in force, for a person: its scope, why, who, when, and what lifts it. */
export function describeKill(kill: KillFacts): string {
  return (
    `${describeScope(kill.scope)}: "${kill.reason}", by ${kill.issuedBy} at ${kill.issuedAt} ` +
    `(command ${kill.commandId}); lift it with ${resumeCommand(kill.scope)}`
  );
}

/** Why a gate refuses work a kill covers: the kill, and what the gate does not do until it is resumed. */
export function killRefusal(
  kill: Pick<KillV1, 'commandId' | 'scope' | 'reason' | 'issuedBy'>,
  refused: string,
): string {
  return `killed: the kill switch stopped new work of ${describeScope(kill.scope)} (${kill.reason}; kill ${kill.commandId} by ${kill.issuedBy}), so ${refused} until it is resumed`;
}

/** Why a task ended killed: which kill (scope, who, when, why) and what lifts it. */
export function killedReason(kill: KillFacts): string {
  return (
    `killed by the kill of ${describeScope(kill.scope)} issued by ${kill.issuedBy} at ${kill.issuedAt}: ` +
    `"${kill.reason}" (lift it with ${resumeCommand(kill.scope)})`
  );
}
