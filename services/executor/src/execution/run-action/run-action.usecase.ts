import { createEnvelope, type ActionCompletedV1, type RejectionCode } from '@leash/contracts';
import { actionHash } from '@leash/signing';
import type { Transaction } from '@leash/store';
import type { RegisteredTool } from '../../tools/tool-implementation';
import { ActionRun, ExecutorAudit, type ActionRunDoc } from '../execution.aggregates';
import { systemClock, type Clock } from '@leash/clock';
import { EXECUTOR_CONSUMER, EXECUTOR_SOURCE, type ExecutionDeps } from '../execution.deps';
import type { KillTarget } from '../kill-gate';
import { capMessage, capOutput, DEFAULT_OUTPUT_LIMIT_BYTES } from '../tool-output';
import { runTool, type ToolOutcome } from '../tool-runner';
import { identityOf, verifyAction, type ExecutableEvent } from '../verify-action';
import type { RunActionCommand } from './run-action.command';

export type RunActionResult =
  | { readonly outcome: 'ran'; readonly status: 'succeeded' | 'failed' }
  | { readonly outcome: 'replayed' }
  | { readonly outcome: 'refused'; readonly code: RejectionCode; readonly reason: string }
  /** The event was handled before (a redelivery after the commit): nothing to do. */
  | { readonly outcome: 'duplicate' };

type Refusal = { readonly code: RejectionCode; readonly reason: string };

/**
 * Runs one action, exactly once, only with every signature it needs.
 *
 * Order of checks: signatures first (a forged or altered event is refused
 * whatever the store holds); then the run record (an action id already used
 * for a different action is refused; a completed one returns its stored
 * result; a started one was cut short by a crash and resumes); then expiry
 * and the kill switch, for anything that would call the tool.
 */
export class RunActionUseCase {
  private readonly clock: Clock;
  private readonly source: string;
  private readonly outputLimitBytes: number;
  /** Runs in flight in this process, by action id: a concurrent duplicate waits for the first. */
  private readonly inFlight = new Map<string, Promise<unknown>>();

  constructor(private readonly deps: ExecutionDeps) {
    this.clock = deps.clock ?? systemClock;
    this.source = deps.source ?? EXECUTOR_SOURCE;
    this.outputLimitBytes = deps.outputLimitBytes ?? DEFAULT_OUTPUT_LIMIT_BYTES;
  }

  async execute(command: RunActionCommand): Promise<RunActionResult> {
    const { event } = command;
    const actionId = event.data.actionId;
    const running = this.inFlight.get(actionId);
    if (running) {
      await running.catch(() => undefined);
      return this.execute(command);
    }
    const work = this.decide(command);
    this.inFlight.set(actionId, work);
    try {
      return await work;
    } finally {
      this.inFlight.delete(actionId);
    }
  }

  private async decide(command: RunActionCommand): Promise<RunActionResult> {
    const { event } = command;
    const data = event.data;
    const verdict = verifyAction(event, this.deps.verifier);
    if (!verdict.ok && verdict.code === 'invalid_signature') return this.refuse(event, verdict);
    const identity = identityOf(event)!;

    const tool = this.deps.registry.get(data.tool);
    if (!tool) {
      return this.refuse(event, {
        code: 'unknown_tool',
        reason: `the executor has no tool named ${data.tool}`,
      });
    }

    const hash = actionHash(identity);
    const existing = await this.deps.store.repository(ActionRun).get(data.actionId);
    if (existing && existing.doc.actionHash !== hash) {
      return this.refuse(event, {
        code: 'replayed',
        reason: `action id ${data.actionId} was already used for a different action; every action needs its own id`,
      });
    }
    if (existing?.doc.status === 'completed') return this.replay(event, existing.doc);
    // A started run was authorized when it started; only a new run needs unexpired signatures.
    if (!existing && !verdict.ok) return this.refuse(event, verdict);

    const parsed = tool.definition.parameters.safeParse(data.arguments);
    if (!parsed.success) {
      return this.refuse(event, {
        code: 'invalid_arguments',
        reason: `the arguments do not match ${tool.definition.name}'s parameters: ${parsed.error.issues
          .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
          .join('; ')}`,
      });
    }

    const target: KillTarget = {
      tenantId: identity.tenantId,
      agent: data.agent.name,
      taskId: identity.taskId,
    };
    const kill = this.deps.killGate.covering(target);
    if (kill) {
      return this.refuse(event, {
        code: 'killed',
        reason: `a kill (${kill.commandId}) stops this agent's tool calls: ${kill.reason}`,
      });
    }

    return this.run(command, tool, parsed.data as Record<string, unknown>, hash, target);
  }

  private async run(
    command: RunActionCommand,
    tool: RegisteredTool,
    args: Record<string, unknown>,
    hash: string,
    target: KillTarget,
  ): Promise<RunActionResult> {
    const { event } = command;
    const data = event.data;
    const startedAt = this.isoNow();

    // Recorded before the tool is called: a crash after the side effect leaves a trace to resume from.
    const fresh = await this.deps.store.transaction(async (tx) => {
      const runs = tx.repository(ActionRun);
      const current = await runs.get(data.actionId);
      if (current?.doc.status === 'completed') return false;
      if (current) {
        await runs.update({ ...current.doc, starts: current.doc.starts + 1 }, current.version);
      } else {
        await runs.insert({
          actionId: data.actionId,
          tenantId: target.tenantId,
          taskId: target.taskId,
          agent: data.agent,
          tool: data.tool,
          step: data.step,
          riskClass: data.riskClass,
          actionHash: hash,
          arguments: data.arguments,
          reservationId: data.grant.reservationId,
          eventId: event.id,
          status: 'started',
          starts: 1,
          startedAt,
        });
      }
      return true;
    });
    // Completed meanwhile by another instance: answer as a replay (decide, not execute: we hold the in-flight slot).
    if (!fresh) return this.decide(command);

    const controller = new AbortController();
    const untrack = this.deps.killGate.track(target, controller);
    let outcome: ToolOutcome;
    try {
      outcome = await runTool(
        tool,
        args,
        {
          actionId: data.actionId,
          tenantId: target.tenantId,
          taskId: target.taskId,
          backends: this.deps.backends,
        },
        {
          abort: controller.signal,
          ...(command.signal ? { interrupt: command.signal } : {}),
          ...(this.deps.random ? { random: this.deps.random } : {}),
          now: () => this.clock.now(),
        },
      );
    } finally {
      untrack();
    }

    const completedAt = this.isoNow();
    const result = this.completedData(event, outcome, completedAt);
    const committed = await this.deps.store.transaction(async (tx) => {
      const runs = tx.repository(ActionRun);
      const current = await runs.get(data.actionId);
      // Another instance finished it meanwhile (its effect and ours are one, by idempotency key).
      if (!current || current.doc.status === 'completed') return false;
      await tx.inbox.claim(EXECUTOR_CONSUMER, event.id);
      await runs.update(
        {
          ...current.doc,
          status: 'completed',
          completedAt,
          result,
          ...(outcome.status === 'succeeded' ? { output: outcome.output } : {}),
        },
        current.version,
      );
      await this.audit(tx, event, {
        what: 'ran',
        reason:
          outcome.status === 'succeeded'
            ? `ran ${data.tool}: succeeded after ${outcome.attempts} attempt(s)`
            : `ran ${data.tool}: failed (${outcome.error.kind}) after ${outcome.attempts} attempt(s): ${outcome.error.message}`,
        ...(outcome.status === 'failed' ? { code: outcome.error.kind } : {}),
      });
      await tx.outbox.enqueue('actions.completed', this.completedEnvelope(event, result));
      await tx.outbox.enqueue(
        'usage.recorded',
        createEnvelope(
          'leash.usage.recorded.v1',
          {
            usageId: `tool:${data.actionId}`,
            taskId: target.taskId,
            kind: 'tool',
            reservationId: data.grant.reservationId,
            actionId: data.actionId,
            // The run's own cost: the simulated backends charge nothing. Money the
            // tool moved is not spend: the budget keeps it booked against the
            // class's amount caps from the reservation.
            usdMicros: 0,
            durationMs: outcome.durationMs,
          },
          {
            id: `${event.id}:usage`,
            source: this.source,
            tenantId: target.tenantId,
            taskId: target.taskId,
          },
        ),
      );
      return true;
    });
    if (!committed) return this.decide(command);
    return { outcome: 'ran', status: outcome.status };
  }

  /** Answers a replayed or redelivered action with the stored result; the tool is not called. */
  private async replay(event: ExecutableEvent, run: ActionRunDoc): Promise<RunActionResult> {
    const stored = run.result!;
    const handled = await this.deps.store.transaction(async (tx) => {
      if (!(await tx.inbox.claim(EXECUTOR_CONSUMER, event.id))) return false;
      await this.audit(tx, event, {
        what: 'replayed',
        reason: `action ${run.actionId} already ran (first by event ${run.eventId}); returned the stored result`,
      });
      await tx.outbox.enqueue(
        'actions.completed',
        this.completedEnvelope(event, { ...stored, replayed: true, completedAt: this.isoNow() }),
      );
      return true;
    });
    return handled ? { outcome: 'replayed' } : { outcome: 'duplicate' };
  }

  /** Refuses, audits and reports on actions.rejected; the tool is never called. */
  private async refuse(event: ExecutableEvent, refusal: Refusal): Promise<RunActionResult> {
    const data = event.data;
    const reason = capMessage(refusal.reason, 10_000);
    const handled = await this.deps.store.transaction(async (tx) => {
      if (!(await tx.inbox.claim(EXECUTOR_CONSUMER, event.id))) return false;
      await this.audit(tx, event, { what: 'refused', code: refusal.code, reason });
      await tx.outbox.enqueue(
        'actions.rejected',
        createEnvelope(
          'leash.actions.rejected.v1',
          {
            actionId: data.actionId,
            agent: data.agent,
            tool: data.tool,
            gate: 'executor',
            code: refusal.code,
            reason,
            versions: data.versions,
          },
          {
            id: `${event.id}:rejected`,
            source: this.source,
            ...(event.tenantId !== undefined ? { tenantId: event.tenantId } : {}),
            taskId: event.taskId!,
          },
        ),
      );
      return true;
    });
    return handled ? { outcome: 'refused', ...refusal } : { outcome: 'duplicate' };
  }

  private completedData(
    event: ExecutableEvent,
    outcome: ToolOutcome,
    completedAt: string,
  ): ActionCompletedV1 {
    const data = event.data;
    const base = {
      actionId: data.actionId,
      agent: data.agent,
      tool: data.tool,
      untrusted: true as const,
      attempts: outcome.attempts,
      durationMs: outcome.durationMs,
      replayed: false,
      completedAt,
    };
    if (outcome.status === 'failed') {
      return { ...base, status: 'failed', truncated: false, error: outcome.error };
    }
    const capped = capOutput(outcome.output, this.outputLimitBytes);
    return { ...base, status: 'succeeded', output: capped.output, truncated: capped.truncated };
  }

  private completedEnvelope(event: ExecutableEvent, data: ActionCompletedV1) {
    return createEnvelope('leash.actions.completed.v1', data, {
      id: `${event.id}:completed`,
      source: this.source,
      ...(event.tenantId !== undefined ? { tenantId: event.tenantId } : {}),
      taskId: event.taskId!,
    });
  }

  private async audit(
    tx: Transaction,
    event: ExecutableEvent,
    entry: { what: 'refused' | 'ran' | 'replayed'; reason: string; code?: string },
  ): Promise<void> {
    const data = event.data;
    await tx.repository(ExecutorAudit).insert({
      auditId: `${event.id}:${entry.what}`,
      eventId: event.id,
      what: entry.what,
      ...(entry.code !== undefined ? { code: entry.code } : {}),
      reason: entry.reason,
      actionId: data.actionId,
      ...(event.tenantId !== undefined ? { tenantId: event.tenantId } : {}),
      taskId: event.taskId!,
      agent: data.agent,
      tool: data.tool,
      versions: data.versions,
      at: this.isoNow(),
    });
  }

  private isoNow(): string {
    return new Date(this.clock.now()).toISOString();
  }
}
