import type { KillV1 } from '@leash/contracts';
import type { KillGate, KillTarget } from '../execution/kill-gate';

/** A KillGate for specs: kills by scope, and aborts what it tracks. The real one is the kill switch's. */
export class TestKillGate implements KillGate {
  private readonly kills: KillV1[] = [];
  private readonly tracked = new Map<AbortController, KillTarget>();

  kill(kill: Omit<KillV1, 'issuedAt' | 'issuedBy' | 'rollback'>): void {
    const full: KillV1 = {
      ...kill,
      rollback: false,
      issuedBy: 'test',
      issuedAt: new Date().toISOString(),
    };
    this.kills.push(full);
    for (const [controller, target] of this.tracked) {
      if (covers(full, target))
        controller.abort(new Error(`kill ${kill.commandId}: ${kill.reason}`));
    }
  }

  get inFlight(): number {
    return this.tracked.size;
  }

  covering(target: KillTarget): KillV1 | undefined {
    return this.kills.find((kill) => covers(kill, target));
  }

  track(target: KillTarget, controller: AbortController): () => void {
    this.tracked.set(controller, target);
    return () => this.tracked.delete(controller);
  }
}

function covers(kill: KillV1, target: KillTarget): boolean {
  switch (kill.scope.kind) {
    case 'all':
      return true;
    case 'tenant':
      return kill.scope.tenantId === target.tenantId;
    case 'agent':
      return kill.scope.agent === target.agent;
    case 'task':
      return kill.scope.taskId === target.taskId;
  }
}
