import { TaskStatus } from '@leash/contracts';
import { z } from 'zod';

/*
 * Versioned system prompts and scripted scenarios of the reference agents.
 * A scenario is a task (its input) plus a script: a deterministic stand-in
 * for the model, a function from the conversation so far to the next turn.
 * The planner's `scripted` model adapter runs the scripts; the demo, the
 * golden set and the end-to-end tests submit the tasks and check `expect`.
 */

/** One version of an agent's system prompt. Versions are kept; the profile pins one. */
export interface SystemPrompt {
  /** The profile's `prompt.id`. */
  readonly id: string;
  readonly version: string;
  readonly text: string;
}

/** What the scripted model sees of one tool call of an earlier turn and its outcome. */
export interface ScriptedObservation {
  /** The model turn (1-based) that made the call. */
  readonly turn: number;
  readonly tool: string;
  readonly actionId?: string;
  readonly arguments?: Readonly<Record<string, unknown>>;
  /** `malformed`: the arguments were not a JSON object, so nothing was proposed. */
  readonly status: 'succeeded' | 'failed' | 'rejected' | 'malformed';
  /** The tool output parsed as JSON when it parses; else the text. */
  readonly output?: unknown;
  /** The raw tool output (untrusted), or the error of a failed run. */
  readonly text?: string;
  readonly gate?: string;
  readonly code?: string;
  readonly reason?: string;
  readonly feedback?: string;
}

/** The conversation a script answers, rebuilt from the messages the planner sends. */
export interface ScriptedConversation {
  readonly agent: string;
  /** The task input, as the upstream system sent it. */
  readonly input: string;
  /** Model turns before this one: 0 on the first call. */
  readonly turn: number;
  /** Every tool call so far, oldest first. */
  readonly observations: readonly ScriptedObservation[];
  /** The calls of the previous turn. */
  readonly lastTurn: readonly ScriptedObservation[];
  /** Notices from the planner, e.g. a re-plan after a loop was detected. */
  readonly notices: readonly string[];
}

/** One tool call; a string is sent as the raw arguments (to script malformed JSON). */
export interface ScriptedCall {
  readonly tool: string;
  readonly arguments: Readonly<Record<string, unknown>> | string;
}

export type ScriptedTurn =
  { readonly say?: string; readonly calls: readonly ScriptedCall[] } | { readonly final: string };

export type ScenarioScript = (conversation: ScriptedConversation) => ScriptedTurn;

/** Where an argument check looks: the actions that ran (the default), or every proposal. */
export const ArgumentCheckScope = z.enum(['ran', 'proposed']);

/**
 * One argument of one tool, checked on every action of that tool in scope.
 * An array argument (e.g. `to`) is checked element by element; `path` may
 * name a nested field with dots.
 */
export const ArgumentCheck = z.object({
  tool: z.string().min(1),
  path: z.string().min(1),
  op: z.enum(['equals', 'endsWith', 'oneOf', 'atMost', 'atLeast', 'matches']),
  /** equals: any JSON value; endsWith, matches: a string (matches: a regular expression); oneOf: an array; atMost, atLeast: a number. */
  value: z.unknown(),
  on: ArgumentCheckScope.optional(),
});
export type ArgumentCheck = DeepReadonly<z.infer<typeof ArgumentCheck>>;

/**
 * A gate decision that must happen to at least one proposal of `tool`:
 * `allowed` (the policy let it run on its own), `human` (the policy sent it to
 * a person, `approvals` of them when set), `denied` (a gate refused it, the
 * named gate and code when set).
 */
export const GateExpectation = z.object({
  tool: z.string().min(1),
  decision: z.enum(['allowed', 'human', 'denied']),
  gate: z.enum(['policy', 'budget', 'approvals', 'executor']).optional(),
  code: z.string().min(1).optional(),
  approvals: z.number().int().positive().optional(),
});
export type GateExpectation = DeepReadonly<z.infer<typeof GateExpectation>>;

/**
 * The trajectory a run must keep to, besides its required and forbidden
 * tools. Steps are the model steps that proposed the actions, so "before"
 * is causal, whatever order the events were observed in.
 */
export const TrajectoryRules = z.object({
  /** Each action of `then` that ran was proposed at a later step than a successful run of `first`. */
  order: z.array(z.object({ first: z.string().min(1), then: z.string().min(1) })).optional(),
  /** No action of `tool` runs at a later step than a run of `after`. */
  notAfter: z.array(z.object({ tool: z.string().min(1), after: z.string().min(1) })).optional(),
  arguments: z.array(ArgumentCheck).optional(),
  gates: z.array(GateExpectation).optional(),
});
export type TrajectoryRules = DeepReadonly<z.infer<typeof TrajectoryRules>>;

/** What a run of the scenario must end with, through every gate. */
export const ScenarioExpectation = z.object({
  status: TaskStatus,
  /** Each of these tools runs (completes) at least once. */
  requiredTools: z.array(z.string().min(1)),
  /** None of these tools ever runs. */
  forbiddenTools: z.array(z.string().min(1)),
  /** How a reviewer answers an approval of each tool; a tool absent here is never sent to a human in this scenario. */
  reviews: z.record(z.string(), z.enum(['approve', 'reject'])).optional(),
  /** The task's stated reason for its status matches this regular expression (e.g. the cap that stopped it). */
  reason: z.string().min(1).optional(),
  trajectory: TrajectoryRules.optional(),
});
export type ScenarioExpectation = DeepReadonly<z.infer<typeof ScenarioExpectation>>;

type DeepReadonly<T> = T extends (infer E)[]
  ? readonly DeepReadonly<E>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

/** Backend state a scenario needs beyond the simulated backends' seed. */
export interface ScenarioFixtures {
  /** Extra inventory items (procurement), shaped as the simulated backend stores them. */
  readonly inventory?: readonly {
    readonly sku: string;
    readonly name: string;
    readonly location: string;
    readonly onHand: number;
    readonly reorderPoint: number;
    readonly onOrder: number;
    readonly supplierId: string;
    readonly unitPriceUsd: number;
  }[];
  /** Extra knowledge base articles (it-helpdesk). */
  readonly kbArticles?: readonly {
    readonly articleId: string;
    readonly title: string;
    readonly body: string;
    readonly tags: readonly string[];
  }[];
  /** Extra open supplier invoices (procurement). */
  readonly invoices?: readonly {
    readonly invoiceId: string;
    readonly supplierId: string;
    readonly amountUsd: number;
  }[];
  /** Extra customers (support), each with their orders. */
  readonly customers?: readonly {
    readonly customerId: string;
    readonly email: string;
    readonly name: string;
    readonly orders: readonly {
      readonly orderId: string;
      readonly item: string;
      readonly paidUsd: number;
      readonly placedAt: string;
    }[];
  }[];
}

export interface ReferenceScenario {
  /** Stable id, `<agent>.<name>`; also the `scenario` tag in task metadata. */
  readonly id: string;
  readonly agent: string;
  readonly title: string;
  readonly input: string;
  /**
   * Who asked, as the upstream system authenticated them (tasks.requested
   * `requestedBy`): what the policy gate checks an agent's lookups against.
   */
  readonly requestedBy?: string;
  /** `demo` (npm start shows it), `golden` (npm run eval), `bench`, `injection`, ... */
  readonly tags: readonly string[];
  readonly expect: ScenarioExpectation;
  readonly fixtures?: ScenarioFixtures;
  readonly script: ScenarioScript;
}

/** The task metadata key that names the scenario a scripted model plays. */
export const SCENARIO_METADATA_KEY = 'scenario';

// ------------------------------------------------------------ script helpers

export function call(tool: string, args: Readonly<Record<string, unknown>> | string): ScriptedCall {
  return { tool, arguments: args };
}

export function act(say: string, ...calls: ScriptedCall[]): ScriptedTurn {
  return { say, calls };
}

export function final(text: string): ScriptedTurn {
  return { final: text };
}

/** A script that plays `turns` in order, one per model call, then gives `done` as its answer. */
export function sequence(
  turns: readonly ((conversation: ScriptedConversation) => ScriptedTurn)[],
  done = 'Done.',
): ScenarioScript {
  return (conversation) => {
    const next = turns[conversation.turn];
    return next ? next(conversation) : final(done);
  };
}

/** True when every call of the previous turn ran and succeeded. */
export function allSucceeded(conversation: ScriptedConversation): boolean {
  return (
    conversation.lastTurn.length > 0 &&
    conversation.lastTurn.every((observation) => observation.status === 'succeeded')
  );
}

/** The first call of the previous turn to `tool`. */
export function lastCall(
  conversation: ScriptedConversation,
  tool: string,
): ScriptedObservation | undefined {
  return conversation.lastTurn.find((observation) => observation.tool === tool);
}

/** Says what stopped a call, for a scripted final answer. */
export function whyNot(observation: ScriptedObservation | undefined): string {
  if (!observation) return 'it was not attempted';
  if (observation.status === 'rejected') {
    return `${observation.gate ?? 'a gate'} refused it (${observation.code ?? 'rejected'}): ${observation.reason ?? ''}${observation.feedback ? ` Reviewer: ${observation.feedback}` : ''}`;
  }
  if (observation.status === 'failed') return `it failed: ${observation.text ?? 'no detail'}`;
  if (observation.status === 'malformed') return 'its arguments were malformed';
  return 'it succeeded';
}

/**
 * Complete JSON objects without nested objects found anywhere in a text:
 * reads records out of tool output that was cut to size (no longer valid JSON).
 */
export function jsonObjectsIn(text: string): Record<string, unknown>[] {
  const found: Record<string, unknown>[] = [];
  for (const match of text.matchAll(/\{[^{}]*\}/g)) {
    try {
      const value = JSON.parse(match[0]) as unknown;
      if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
        found.push(value as Record<string, unknown>);
      }
    } catch {
      // A fragment that is not an object on its own: skip it.
    }
  }
  return found;
}

/** One turn of a plan: what the model says, and its calls (fixed, or read off the conversation). */
export interface PlannedTurn {
  readonly say: string;
  readonly calls:
    readonly ScriptedCall[] | ((conversation: ScriptedConversation) => readonly ScriptedCall[]);
}

/**
 * A careful model: plays `turns` in order while every call succeeds; at the
 * first call that does not, it stops and says why (so the task ends with
 * that turn's status); after the last turn it answers `done`.
 */
export function plan(turns: readonly PlannedTurn[], done: string): ScenarioScript {
  return (conversation) => {
    const stopped = conversation.lastTurn.find((o) => o.status !== 'succeeded');
    if (stopped) return final(`Stopped: ${stopped.tool} did not go through, ${whyNot(stopped)}`);
    const next = turns[conversation.turn];
    if (!next) return final(done);
    const calls = typeof next.calls === 'function' ? next.calls(conversation) : next.calls;
    return act(next.say, ...calls);
  };
}

/** A model stuck on one call: it proposes it again every turn, whatever it is told. */
export function repeat(say: string, stuck: ScriptedCall): ScenarioScript {
  return () => act(say, stuck);
}

/**
 * A runaway model: every turn, the calls `next` makes for that turn (new
 * arguments each time, so no loop rule sees a repeat); it stops only when a
 * budget cap refuses one, and answers with the cap.
 */
export function runaway(
  say: string,
  next: (turn: number) => readonly ScriptedCall[],
): ScenarioScript {
  return (conversation) => {
    const capped = conversation.lastTurn.find((o) => o.code === 'cap_exceeded');
    if (capped) return final(`Stopped by a cap: ${whyNot(capped)}`);
    return act(say, ...next(conversation.turn));
  };
}

// ------------------------------------------------------- expectation helpers

/** Expectation parts: a person is asked about `tool` (by `approvals` people when set) and refuses it. */
export function refusedByPerson(
  tool: string,
  approvals?: number,
): Pick<ScenarioExpectation, 'reviews' | 'trajectory'> {
  return {
    reviews: { [tool]: 'reject' },
    trajectory: {
      gates: [
        { tool, decision: 'human', ...(approvals !== undefined ? { approvals } : {}) },
        { tool, decision: 'denied', gate: 'approvals', code: 'approval_rejected' },
      ],
    },
  };
}

/** Expectation parts: the policy gate denies `tool` (`code`, default policy_denied). */
export function deniedByPolicy(
  tool: string,
  code = 'policy_denied',
): Pick<ScenarioExpectation, 'trajectory'> {
  return { trajectory: { gates: [{ tool, decision: 'denied', gate: 'policy', code }] } };
}
