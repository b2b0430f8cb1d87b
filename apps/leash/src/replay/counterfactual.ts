import type { Verdict } from '@leash/client';
import { ToolSemanticError, type ToolRegistry } from '@leash/service-executor';
import {
  ModelError,
  readObservation,
  readUntrusted,
  type ModelMessage,
  type ModelPort,
  type ModelRequest,
  type ModelResponse,
} from '@leash/service-planner';
import { canonicalJson } from '@leash/signing';
import { NOT_IN_RECORDING } from './compare-runs';
import type {
  RecordedModelCall,
  RecordedOutcome,
  RecordedRun,
  RecordedVerdict,
} from './recorded-run';

/*
 * What answers a replayed task from its recording. The model's turn comes
 * from the recording while the replay is the recorded run so far: the same
 * prompt and model, and every earlier call met the same outcome; from the
 * first difference on, the configured model is asked. A tool call is
 * answered with the recorded output of the same tool and arguments; one the
 * recording does not have is the point of divergence, and the replay stops
 * there (with `live-read`, a read tool runs on the scratch system's simulated
 * backends instead). A reviewer's verdict is the recorded one where the
 * action is the same; otherwise the request is unanswered and the replay
 * stops. Nothing outside changes: tools that write never run.
 */

export type ToolsMode = 'recorded' | 'live-read';

export interface Divergence {
  readonly step: number;
  readonly kind: 'observation' | 'tool' | 'approval';
  readonly detail: string;
  /** The replay stopped here: the recording cannot answer, and nothing may be made up. */
  readonly stopped: boolean;
}

export interface ReplayChanges {
  /** The prompt text differs from the recorded run's: the model is asked from the first turn. */
  readonly promptChanged: boolean;
  /** The model differs from the recorded run's. */
  readonly modelChanged: boolean;
  readonly tools: ToolsMode;
}

/** The key of a call for matching: its tool and its arguments, canonically. */
function callKey(tool: string, args: unknown): string {
  return `${tool} ${canonicalJson(args)}`;
}

/** One recorded run being replayed, and where the replay left it. */
export class ReplayedTask {
  /** The first point where the replay left the recording; undefined while it is the same run. */
  divergence: Divergence | undefined;
  /** Tool calls answered by running a read tool (`--tools live-read`). */
  readonly liveReads: string[] = [];
  /** From which step the configured model was asked, and why; undefined while the recording answers. */
  askedModelFrom: { readonly step: number; readonly reason: string } | undefined;
  /** Which turns the recording answered, by turn number. */
  readonly answeredTurns = new Set<number>();
  private readonly usedOutcomes = new Set<string>();

  constructor(
    readonly run: RecordedRun,
    readonly changes: ReplayChanges,
  ) {}

  get stopped(): boolean {
    return this.divergence?.stopped === true;
  }

  diverge(divergence: Divergence): void {
    // The first difference is the point of divergence; a later stop still stops the replay.
    if (!this.divergence) this.divergence = divergence;
    else if (divergence.stopped && !this.divergence.stopped) {
      this.divergence = {
        ...this.divergence,
        stopped: true,
        detail: `${this.divergence.detail}; then ${divergence.detail}`,
      };
    }
  }

  /** The recorded answer to this request, or undefined when the model must be asked (divergence noted). */
  recordedAnswer(request: ModelRequest): ModelResponse | undefined {
    const turn = request.messages.filter((m) => m.role === 'assistant').length;
    const recorded = this.run.turns[turn];
    const step = recorded?.step ?? (this.run.turns.at(-1)?.step ?? 0) + 1;
    if (this.changes.promptChanged || this.changes.modelChanged) {
      // Not a divergence by itself: the trajectory diverges where the new model's calls do.
      this.askedModelFrom ??= {
        step,
        reason: this.changes.promptChanged ? 'the prompt changed' : 'the model changed',
      };
      return undefined;
    }
    const differs = this.observationDifference(request.messages, turn);
    if (differs) {
      this.diverge({ ...differs, stopped: false });
      this.askedModelFrom ??= { step, reason: `the observations differ from step ${differs.step}` };
      return undefined;
    }
    if (!recorded) {
      this.askedModelFrom ??= { step, reason: `the recording has no turn at step ${step}` };
      return undefined;
    }
    this.answeredTurns.add(turn);
    return {
      message: {
        ...(recorded.answer !== undefined
          ? { content: recorded.answer }
          : recorded.content !== undefined
            ? { content: recorded.content }
            : {}),
        toolCalls: recorded.calls.map((call) => ({
          id: `call_${call.step}_${call.index}`,
          name: call.tool,
          arguments: call.arguments,
        })),
      },
      usage: recorded.usage,
      model: this.run.model,
    };
  }

  /**
   * How the observations the model would be given differ from the recorded
   * ones, or undefined when they are the same. A tool's output must be the
   * same text; a refusal the same gate, code, reviewer's feedback and cap
   * (its wording names versions and ledger figures, which differ in any
   * scratch run).
   */
  private observationDifference(
    messages: readonly ModelMessage[],
    turn: number,
  ): Omit<Divergence, 'stopped'> | undefined {
    const calls = new Map<string, RecordedModelCall>();
    this.run.turns.slice(0, turn).forEach((recorded) => {
      for (const call of recorded.calls) calls.set(`call_${call.step}_${call.index}`, call);
    });
    for (const message of messages) {
      if (message.role !== 'tool') continue;
      const call = calls.get(message.toolCallId);
      if (!call) {
        return {
          kind: 'observation',
          step: turn,
          detail: `a call the recording does not have (${message.toolCallId})`,
        };
      }
      // A call whose arguments did not parse was told so, and nothing else, in the recording too.
      const outcome = call.actionId ? this.finalOutcome(call.actionId) : undefined;
      const difference = !call.actionId
        ? readObservation(message.content)?.observation === 'malformed'
          ? undefined
          : 'its arguments did not parse in the recording'
        : outcome
          ? differenceOf(message.content, outcome)
          : 'the recorded run has no outcome for it';
      if (difference) {
        return { kind: 'observation', step: call.step, detail: `${call.tool}: ${difference}` };
      }
    }
    return undefined;
  }

  /** The outcome the model was told of for an action: through a reviewer's edit, the replacement's. */
  private finalOutcome(actionId: string): RecordedOutcome | undefined {
    let outcome = this.run.outcomes.get(actionId);
    for (
      let hops = 0;
      outcome?.kind === 'rejected' && outcome.data.code === 'edited' && hops < 10;
      hops += 1
    ) {
      if (!outcome.data.replacedBy) break;
      outcome = this.run.outcomes.get(outcome.data.replacedBy);
    }
    return outcome;
  }

  /** The recorded run of this tool call: the same action first, else the same tool and arguments, once each. */
  recordedRun(
    actionId: string,
    tool: string,
    args: unknown,
    normalize: (recorded: Readonly<Record<string, unknown>>) => unknown = (recorded) => recorded,
  ): RecordedOutcome | undefined {
    const key = callKey(tool, args);
    const same = this.run.calls.get(actionId);
    const candidates = [
      ...(same ? [same] : []),
      ...[...this.run.calls.values()].filter((call) => call.actionId !== actionId),
    ];
    for (const call of candidates) {
      if (
        this.usedOutcomes.has(call.actionId) ||
        callKey(call.tool, normalize(call.arguments)) !== key
      )
        continue;
      const outcome = this.run.outcomes.get(call.actionId);
      if (outcome?.kind !== 'completed') continue;
      this.usedOutcomes.add(call.actionId);
      return outcome;
    }
    return undefined;
  }

  /** The recorded verdict on this action, when the recorded run asked a person about the same call. */
  recordedVerdict(actionId: string, tool: string, args: unknown): RecordedVerdict | undefined {
    // Compared with what the recorded request showed (parsed, defaults filled in), as the replay's is.
    const call = this.run.calls.get(actionId);
    const shown = this.run.approvalArguments.get(actionId);
    if (!call || call.tool !== tool || !shown || callKey(tool, shown) !== callKey(tool, args)) {
      return undefined;
    }
    return this.run.verdicts.get(actionId);
  }
}

/** How an observation message differs from the recorded outcome; undefined when it does not. */
function differenceOf(content: string, recorded: RecordedOutcome): string | undefined {
  const observation = readObservation(content);
  if (!observation) return 'an observation the planner did not write';
  if (recorded.kind === 'completed') {
    if (observation.observation !== 'result') {
      return `${describeRecorded(recorded)} in the recording, ${observation.observation} now`;
    }
    if (observation.status !== recorded.data.status) {
      return `${recorded.data.status} in the recording, ${observation.status} now`;
    }
    const text = readUntrusted(content) ?? '';
    const same =
      recorded.data.status === 'succeeded'
        ? text === (recorded.data.output ?? '')
        : text.includes(recorded.data.error?.message ?? '');
    return same ? undefined : 'its output differs from the recording';
  }
  if (observation.observation !== 'rejected') {
    return `${describeRecorded(recorded)} in the recording, ${observation.observation === 'result' ? `ran (${observation.status})` : observation.observation} now`;
  }
  const data = recorded.data;
  const fields = ['gate', 'code', 'feedback', 'cap'] as const;
  const changed = fields.filter(
    (field) => (observation[field] ?? undefined) !== (data[field] ?? undefined),
  );
  return changed.length === 0
    ? undefined
    : `refused by ${data.gate} (${data.code}) in the recording, by ${observation.gate} (${observation.code}) now`;
}

export function describeRecorded(outcome: RecordedOutcome): string {
  return outcome.kind === 'completed'
    ? `ran (${outcome.data.status})`
    : `refused by ${outcome.data.gate} (${outcome.data.code})`;
}

/**
 * The replays of one scratch system, by task id: the model and the tools the
 * launcher wraps consult it, and so do the replay's reviewers.
 */
export class ReplayBook {
  private readonly tasks = new Map<string, ReplayedTask>();

  add(task: ReplayedTask): void {
    this.tasks.set(task.run.taskId, task);
  }

  task(taskId: string): ReplayedTask | undefined {
    return this.tasks.get(taskId);
  }

  /** The planner's model: the recording while it answers, then `live`. */
  wrapModel(live: ModelPort): ModelPort {
    return {
      complete: async (request) => {
        const task = request.task ? this.tasks.get(request.task.taskId) : undefined;
        if (!task) return live.complete(request);
        if (task.stopped) {
          throw new ModelError(
            `the replay stopped at step ${task.divergence!.step}: ${task.divergence!.detail}`,
            false,
          );
        }
        return task.recordedAnswer(request) ?? live.complete(request);
      },
      close: async () => live.close?.(),
    };
  }

  /** The executor's tools: each answers from the recording; one it does not have stops the replay. */
  wrapTools(registry: ToolRegistry): ToolRegistry {
    for (const name of registry.names) {
      const { riskClass: risk, parameters } = registry.get(name)!.definition;
      // The recording holds the arguments as proposed; a tool receives them parsed (defaults filled in).
      const normalize = (recorded: Readonly<Record<string, unknown>>) =>
        parameters.safeParse(recorded).data ?? recorded;
      registry.wrap(name, (inner) => async (args, ctx) => {
        const task = this.tasks.get(ctx.taskId);
        if (!task) return inner(args, ctx);
        const recorded = task.recordedRun(ctx.actionId, name, args, normalize);
        if (recorded?.kind === 'completed') {
          if (recorded.data.status === 'succeeded') return recorded.data.output ?? '';
          throw new ToolSemanticError(recorded.data.error?.message ?? 'failed', 'recorded_failure');
        }
        const step = stepOf(ctx.actionId);
        if (task.changes.tools === 'live-read' && risk === 'read') {
          task.liveReads.push(`${name} ${JSON.stringify(args)}`);
          task.diverge({
            kind: 'tool',
            step,
            detail: `${name} ${JSON.stringify(args)} is not in the recording; read live`,
            stopped: false,
          });
          return inner(args, ctx);
        }
        task.diverge({
          kind: 'tool',
          step,
          detail: `${name} ${JSON.stringify(args)} is not in the recording${risk === 'read' ? ' (--tools live-read would read it)' : ''}`,
          stopped: true,
        });
        throw new ToolSemanticError(
          `${NOT_IN_RECORDING} ${name} with these arguments`,
          'replay_diverged',
        );
      });
    }
    return registry;
  }

  /** A replay reviewer's answer: the recorded verdict on the same action, else none (the replay stops). */
  verdictFor(request: {
    readonly taskId: string;
    readonly actionId: string;
    readonly tool: string;
    readonly arguments: Readonly<Record<string, unknown>>;
  }): Verdict | undefined {
    const task = this.tasks.get(request.taskId);
    if (!task) return undefined;
    const recorded = task.recordedVerdict(request.actionId, request.tool, request.arguments);
    if (!recorded) {
      task.diverge({
        kind: 'approval',
        step: stepOf(request.actionId),
        detail: `${request.tool} went to a person, and the recording has no verdict on this call`,
        stopped: true,
      });
      return { verdict: 'reject', feedback: 'replay: the recording has no verdict on this call' };
    }
    switch (recorded.verdict) {
      case 'approve':
        return { verdict: 'approve', comment: 'as recorded' };
      case 'reject':
        return { verdict: 'reject', feedback: recorded.feedback };
      case 'edit':
        return { verdict: 'edit', arguments: { ...recorded.arguments }, comment: 'as recorded' };
    }
  }
}

/** The step of an action id (`<task>:<step>:<index>`). */
function stepOf(actionId: string): number {
  const parts = actionId.split(':');
  const step = Number(parts[parts.length - 2]);
  return Number.isInteger(step) ? step : 0;
}
