import { Inject, Injectable, Logger } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { TransientError } from '@leash/bus';
import type { KillScope, KillV1 } from '@leash/contracts';
import { STORE } from '@leash/service-runtime';
import type { Store } from '@leash/store';
import { ActionRun, CompensateTaskUseCase, type ActionRunDoc } from '../execution';

/**
 * A kill with rollback: undoes the completed write actions of every task in
 * the kill's scope, through the executor's compensate-task use case (which
 * skips what is already undone, so a redelivered kill, or every executor
 * instance running this, undoes each action once).
 */
@Injectable()
export class RollBackKilledTasksUseCase {
  private readonly logger = new Logger('KillSwitch');

  constructor(
    @Inject(STORE) private readonly store: Store,
    private readonly moduleRef: ModuleRef,
  ) {}

  async execute(kill: KillV1): Promise<void> {
    if (kill.scope.kind !== 'task') {
      // The CLI only offers rollback for one task: a broad rollback would undo long-finished work.
      this.logger.warn(
        `kill ${kill.commandId}: rollback applies to a task scope only; nothing undone`,
      );
      return;
    }
    const compensate = this.compensateTask();
    if (!compensate) {
      this.logger.warn(
        `kill ${kill.commandId} asks for a rollback, but this executor has no execution module: nothing undone`,
      );
      return;
    }
    const failed: string[] = [];
    for (const { tenantId, taskId } of await this.tasksInScope(kill.scope)) {
      const result = await compensate.execute({
        tenantId,
        taskId,
        reason: kill.reason,
        commandId: kill.commandId,
      });
      failed.push(...result.failed.map((f) => `${f.actionId} (${f.error})`));
    }
    if (failed.length > 0) {
      // Transient: the bus delivers the kill again, and only what is still not undone is retried.
      throw new TransientError(`kill ${kill.commandId}: undo failed for ${failed.join(', ')}`);
    }
  }

  /** The killed task, when it has a completed write action: compensate-task filters further. */
  private async tasksInScope(scope: KillScope): Promise<{ tenantId: string; taskId: string }[]> {
    if (scope.kind !== 'task') return [];
    const runs = (await this.store.repository(ActionRun).find({ where: { taskId: scope.taskId } }))
      .map((s) => s.doc)
      .filter((run: ActionRunDoc) => run.status === 'completed' && run.riskClass === 'write');
    const tasks = new Map<string, { tenantId: string; taskId: string }>();
    for (const run of runs) {
      tasks.set(`${run.tenantId}\0${run.taskId}`, { tenantId: run.tenantId, taskId: run.taskId });
    }
    return [...tasks.values()];
  }

  /** Looked up at run time: the execution module is wired by the app, beside this one. */
  private compensateTask(): CompensateTaskUseCase | undefined {
    try {
      return this.moduleRef.get(CompensateTaskUseCase, { strict: false });
    } catch {
      return undefined;
    }
  }
}
