import { randomUUID } from 'node:crypto';
import {
  IT_HELPDESK_DEFAULT_SCRIPT,
  IT_HELPDESK_SCENARIOS,
  IT_HELPDESK_GOLDEN_SCENARIOS,
  PROCUREMENT_DEFAULT_SCRIPT,
  PROCUREMENT_SCENARIOS,
  PROCUREMENT_GOLDEN_SCENARIOS,
  REFERENCE_AGENTS,
  REFERENCE_PROMPTS,
  SCENARIO_METADATA_KEY,
  SUPPORT_DEFAULT_SCRIPT,
  SUPPORT_SCENARIOS,
  SUPPORT_GOLDEN_SCENARIOS,
  type ReferenceScenario,
  type ScenarioScript,
  type SystemPrompt,
} from '@leash/agents';
import { createEnvelope, type Envelope } from '@leash/contracts';
import type { PromptSource } from '../agent-loop.deps';
import type { ScriptSource } from '../model/scripted.model';

/** Every scripted scenario of the reference agents: the demo, golden set and bench draw from these. */
export const REFERENCE_SCENARIOS: readonly ReferenceScenario[] = [
  ...IT_HELPDESK_SCENARIOS,
  ...IT_HELPDESK_GOLDEN_SCENARIOS,
  ...PROCUREMENT_SCENARIOS,
  ...PROCUREMENT_GOLDEN_SCENARIOS,
  ...SUPPORT_SCENARIOS,
  ...SUPPORT_GOLDEN_SCENARIOS,
  // Golden tasks written as data in the agents' golden/ folders (leash review promote).
  ...Object.values(REFERENCE_AGENTS).flatMap((agent) => agent.goldenTasks),
];

export { REFERENCE_PROMPTS };

const DEFAULT_SCRIPTS: Readonly<Record<string, ScenarioScript>> = {
  'it-helpdesk': IT_HELPDESK_DEFAULT_SCRIPT,
  procurement: PROCUREMENT_DEFAULT_SCRIPT,
  support: SUPPORT_DEFAULT_SCRIPT,
};

/** Versioned prompts by id and version. */
export function promptSourceOf(prompts: Iterable<SystemPrompt>): PromptSource {
  const byKey = new Map<string, SystemPrompt>();
  for (const prompt of prompts) byKey.set(`${prompt.id}@${prompt.version}`, prompt);
  return { prompt: (id, version) => byKey.get(`${id}@${version}`) };
}

/**
 * Scenarios the scripted model can play: the reference ones, plus any a
 * test or a benchmark registers (ids must be unique).
 */
export class ScenarioRegistry implements ScriptSource {
  private readonly byIdMap = new Map<string, ReferenceScenario>();
  private readonly byInputMap = new Map<string, ReferenceScenario>();
  private readonly fallbacks = new Map<string, ScenarioScript>(Object.entries(DEFAULT_SCRIPTS));

  constructor(scenarios: Iterable<ReferenceScenario> = REFERENCE_SCENARIOS) {
    for (const scenario of scenarios) this.register(scenario);
  }

  /** Registers each scenario whose id is not registered yet; returns this. */
  registerMissing(scenarios: Iterable<ReferenceScenario>): this {
    for (const scenario of scenarios) if (!this.byIdMap.has(scenario.id)) this.register(scenario);
    return this;
  }

  register(scenario: ReferenceScenario): this {
    if (this.byIdMap.has(scenario.id))
      throw new Error(`scenario ${scenario.id} is registered twice`);
    this.byIdMap.set(scenario.id, scenario);
    this.byInputMap.set(`${scenario.agent}\u0000${scenario.input}`, scenario);
    return this;
  }

  /** Sets what an agent does with a task no scenario names. */
  setFallback(agent: string, script: ScenarioScript): this {
    this.fallbacks.set(agent, script);
    return this;
  }

  scenario(id: string): ReferenceScenario | undefined {
    return this.byIdMap.get(id);
  }

  all(): ReferenceScenario[] {
    return [...this.byIdMap.values()];
  }

  byId(id: string): ScenarioScript | undefined {
    return this.byIdMap.get(id)?.script;
  }

  byInput(agent: string, input: string): ScenarioScript | undefined {
    return this.byInputMap.get(`${agent}\u0000${input}`)?.script;
  }

  fallback(agent: string): ScenarioScript | undefined {
    return this.fallbacks.get(agent);
  }
}

export interface ScenarioTaskOptions {
  readonly tenantId: string;
  readonly taskId?: string;
  /** CloudEvents source of the request. Default `leash`. */
  readonly source?: string;
  readonly deadlineAt?: string;
  readonly requestedBy?: string;
  readonly metadata?: Readonly<Record<string, string>>;
}

/** The tasks.requested event that runs a scenario: its input, tagged with its id for the scripted model. */
export function scenarioTask(
  scenario: Pick<ReferenceScenario, 'id' | 'agent' | 'input' | 'requestedBy'>,
  options: ScenarioTaskOptions,
): Envelope<'leash.tasks.requested.v1'> {
  const taskId = options.taskId ?? `task-${randomUUID()}`;
  const requestedBy = options.requestedBy ?? scenario.requestedBy;
  return createEnvelope(
    'leash.tasks.requested.v1',
    {
      agent: scenario.agent,
      input: scenario.input,
      metadata: { ...options.metadata, [SCENARIO_METADATA_KEY]: scenario.id },
      ...(requestedBy !== undefined ? { requestedBy } : {}),
      ...(options.deadlineAt !== undefined ? { deadlineAt: options.deadlineAt } : {}),
    },
    { source: options.source ?? 'leash', tenantId: options.tenantId, taskId },
  );
}
