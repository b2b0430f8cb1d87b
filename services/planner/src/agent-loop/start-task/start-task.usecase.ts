import { TransientError } from '@leash/bus';
import { ReleaseNotYetKnownError } from '@leash/agents';
import type { Envelope } from '@leash/contracts';
import { DuplicateError } from '@leash/store';
import { targetOf, type AgentLoopDeps } from '../agent-loop.deps';
import { promptVersion, systemMessage, taskMessage } from '../task-state/conversation';
import { finish, requestNextStep, type Outgoing } from '../task-state/loop-rules';
import { PLANNER_TASKS, type PlannerTask } from '../task-state/planner-task.aggregate';
import { enqueueAll, profileTools, toolsVersionOf } from '../task-state/task-transaction';

export interface StartTaskCommand {
  readonly event: Envelope<'leash.tasks.requested.v1'>;
  /** The delivery attempt: an agent missing from the catalog is waited for a few deliveries. */
  readonly attempt?: number;
}

export type StartTaskOutcome = 'started' | 'finished' | 'duplicate';

/**
 * Turns a requested task into a running one: looks up its profile and
 * prompt, puts the system prompt and the task (as untrusted data) in the
 * conversation, and asks the budget for the first model call. A task that
 * cannot start (no tenant, unknown agent, a kill in force, a deadline
 * already past) ends at once with a stated reason.
 */
export class StartTaskUseCase {
  constructor(private readonly deps: AgentLoopDeps) {}

  async execute({ event, attempt = 1 }: StartTaskCommand): Promise<StartTaskOutcome> {
    const { deps } = this;
    const taskId = event.taskId!; // the partition key of tasks.requested: validated at the edge
    if (await deps.store.repository(PLANNER_TASKS).get(taskId)) return 'duplicate';

    const request = event.data;
    // A task starts on one release and keeps it: the version is written into the task and every event.
    const release =
      request.agentVersion ?? (await deps.releases?.releaseFor(request.agent, taskId));
    // A pinned version this store has not applied yet counts as unknown: waited for a few deliveries, then the task fails.
    const profile = await deps.profiles.profile(request.agent, release).catch((error: unknown) => {
      if (error instanceof ReleaseNotYetKnownError) return undefined;
      throw error;
    });
    if (!profile && attempt < deps.options.unknownAgentAttempts) {
      // The catalog may not be seeded yet (services starting together): try the delivery again.
      throw new TransientError(`agent ${request.agent} is not in the catalog (yet)`);
    }
    const now = deps.clock();
    const nowIso = new Date(now).toISOString();
    const prompt = profile
      ? await deps.prompts.prompt(profile.prompt.id, profile.prompt.version)
      : undefined;
    const tools = profile ? profileTools(deps, profile) : [];
    const model = profile ? deps.modelName(profile) : 'none';
    const deadlineMs = request.deadlineAt
      ? Date.parse(request.deadlineAt)
      : now + (profile?.caps.task.wallClockMs ?? 0);

    const task: PlannerTask = {
      taskId,
      tenantId: event.tenantId ?? '',
      agent: { name: request.agent, version: profile?.version ?? request.agentVersion ?? 1 },
      status: 'running',
      phase: 'awaiting_budget',
      input: request.input,
      metadata: { ...request.metadata },
      ...(request.requestedBy !== undefined ? { requestedBy: request.requestedBy } : {}),
      model,
      versions: {
        ...(profile ? { profile: profile.version, model, tools: toolsVersionOf(tools) } : {}),
        ...(prompt ? { prompt: promptVersion(prompt) } : {}),
      },
      maxSteps: profile?.maxSteps ?? 1,
      step: 0,
      messages: prompt ? [systemMessage(prompt), taskMessage(request.agent, request.input)] : [],
      turn: [],
      untrusted: [request.input],
      loopDenials: 0,
      costAlarmed: false,
      cost: { usdMicros: 0, inputTokens: 0, outputTokens: 0, toolCalls: 0 },
      trajectory: [],
      startedAt: nowIso,
      deadlineAt: new Date(deadlineMs).toISOString(),
      updatedAt: nowIso,
    };

    const ctx = {
      now,
      source: deps.source,
      tools: deps.tools,
      modelTools: deps.modelTools.of(tools),
      maxOutputTokens: deps.options.maxOutputTokens,
      reservationTtlMs: deps.options.reservationTtlMs,
      loopDenialsBeforeEscalation: deps.options.loopDenialsBeforeEscalation,
    };
    let outgoing: Outgoing[];
    if (!event.tenantId) {
      outgoing = finish(
        task,
        ctx,
        'failed',
        'the task names no tenant: nothing can be reserved for it',
      );
    } else if (!profile) {
      outgoing = finish(task, ctx, 'failed', `agent ${request.agent} is not in the catalog`);
    } else if (!prompt) {
      outgoing = finish(
        task,
        ctx,
        'failed',
        `prompt ${profile.prompt.id} v${profile.prompt.version} of agent ${profile.name} is not deployed`,
      );
    } else {
      const kill = deps.killGate.covering(targetOf(task));
      outgoing = requestNextStep(task, { ...ctx, ...(kill ? { kill } : {}) });
    }

    try {
      await deps.store.transaction(async (tx) => {
        if (!(await tx.inbox.claim(`${deps.source}:tasks.requested`, event.id))) {
          throw new DuplicateError('inbox', event.id);
        }
        await tx.repository(PLANNER_TASKS).insert(task);
        await enqueueAll(tx, outgoing);
      });
    } catch (error) {
      // The same task requested twice (two events, or one redelivered): the first start stands.
      if (error instanceof DuplicateError) return 'duplicate';
      throw error;
    }
    return task.status === 'running' ? 'started' : 'finished';
  }
}
