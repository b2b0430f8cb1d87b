import {
  ActionRun,
  ExecutorAudit,
  type ActionRunDoc,
  type Compensation,
} from '../execution.aggregates';
import { systemClock, type Clock } from '@leash/clock';
import { type ExecutionDeps } from '../execution.deps';
import { capMessage } from '../tool-output';
import { runTool } from '../tool-runner';
import type { CompensateTaskCommand, CompensateTaskResult } from './compensate-task.command';

/**
 * Undoes a cancelled or killed task's completed write actions that define a
 * compensation, newest first, so each undo sees the state the next-older
 * action left. The undo is ordered by whoever cancelled or killed the task,
 * so it does not pass the gates again; each one is audited. An undo uses
 * `<actionId>:compensation` as its idempotency key: running this twice (a
 * redelivered kill) undoes each action once.
 */
export class CompensateTaskUseCase {
  private readonly clock: Clock;

  constructor(
    private readonly deps: Pick<
      ExecutionDeps,
      'store' | 'registry' | 'backends' | 'clock' | 'random'
    >,
  ) {
    this.clock = deps.clock ?? systemClock;
  }

  async execute(command: CompensateTaskCommand): Promise<CompensateTaskResult> {
    const runs = await this.deps.store
      .repository(ActionRun)
      .find({ where: { taskId: command.taskId } });
    const undoable = runs
      .map((run) => run.doc)
      .filter((run) => this.needsUndo(run, command.tenantId))
      .sort(newestFirst);

    const compensated: string[] = [];
    const failed: { actionId: string; error: string }[] = [];
    for (const run of undoable) {
      const record = await this.undo(run, command);
      if (record.status === 'compensated') compensated.push(run.actionId);
      else failed.push({ actionId: run.actionId, error: record.error ?? 'unknown' });
    }
    return { compensated, failed };
  }

  private needsUndo(run: ActionRunDoc, tenantId: string): boolean {
    if (run.tenantId !== tenantId || run.status !== 'completed') return false;
    if (run.result?.status !== 'succeeded' || run.riskClass !== 'write') return false;
    if (run.compensation?.status === 'compensated') return false;
    return this.deps.registry.tool(run.tool)?.compensation !== undefined;
  }

  private async undo(run: ActionRunDoc, command: CompensateTaskCommand): Promise<Compensation> {
    const compensation = this.deps.registry.tool(run.tool)!.compensation!;
    const undoActionId = `${run.actionId}:compensation`;
    const base = { tool: compensation.tool, undoActionId, reason: command.reason };
    let record: Compensation;
    const undoTool = this.deps.registry.get(compensation.tool);
    if (!undoTool) {
      record = {
        ...base,
        status: 'failed',
        at: this.isoNow(),
        error: `no tool ${compensation.tool}`,
      };
    } else {
      const parsed = undoTool.definition.parameters.safeParse(
        compensation.arguments(run.arguments, run.output),
      );
      if (!parsed.success) {
        record = {
          ...base,
          status: 'failed',
          at: this.isoNow(),
          error: `cannot build ${compensation.tool}'s arguments: ${parsed.error.message}`,
        };
      } else {
        // Not tied to the kill switch: the kill is what asked for this undo.
        const outcome = await runTool(
          undoTool,
          parsed.data as Record<string, unknown>,
          {
            actionId: undoActionId,
            tenantId: run.tenantId,
            taskId: run.taskId,
            backends: this.deps.backends,
          },
          {
            abort: new AbortController().signal,
            ...(this.deps.random ? { random: this.deps.random } : {}),
            now: () => this.clock.now(),
          },
        );
        record =
          outcome.status === 'succeeded'
            ? { ...base, status: 'compensated', at: this.isoNow(), output: outcome.output }
            : {
                ...base,
                status: 'failed',
                at: this.isoNow(),
                error: `${outcome.error.kind}: ${outcome.error.message}`,
              };
      }
    }

    await this.deps.store.transaction(async (tx) => {
      const runs = tx.repository(ActionRun);
      const current = await runs.get(run.actionId);
      if (!current) return;
      await runs.update({ ...current.doc, compensation: record }, current.version);
      const audits = tx.repository(ExecutorAudit);
      const auditId = `${command.commandId}:${run.actionId}:${record.status}`;
      const entry = {
        auditId,
        eventId: command.commandId,
        what:
          record.status === 'compensated'
            ? ('compensated' as const)
            : ('compensation_failed' as const),
        code: compensation.tool,
        reason: capMessage(
          record.status === 'compensated'
            ? `undid ${run.tool} with ${compensation.tool}: ${command.reason}`
            : `could not undo ${run.tool} with ${compensation.tool}: ${record.error}`,
          10_000,
        ),
        actionId: run.actionId,
        tenantId: run.tenantId,
        taskId: run.taskId,
        agent: run.agent,
        tool: run.tool,
        at: record.at,
      };
      // A retried rollback may fail again the same way: one audit record per outcome per command.
      await audits.upsert(entry);
    });
    return record;
  }

  private isoNow(): string {
    return new Date(this.clock.now()).toISOString();
  }
}

function newestFirst(a: ActionRunDoc, b: ActionRunDoc): number {
  return (
    (b.completedAt ?? '').localeCompare(a.completedAt ?? '') ||
    b.step - a.step ||
    b.actionId.localeCompare(a.actionId)
  );
}
