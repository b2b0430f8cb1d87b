import { ManualClock } from '@leash/clock';
import {
  REFERENCE_AGENTS,
  type AgentProfile,
  type ProfileSource,
  type ReferenceScenario,
} from '@leash/agents';
import { BASE_ENV, loadConfig, parsePriceTable } from '@leash/config';
import {
  createEnvelope,
  type AnyEnvelope,
  type Envelope,
  type EventType,
  type KillV1,
  type RejectionCode,
} from '@leash/contracts';
import { openEngines, type Engines } from '@leash/engines';
import type { KillTarget } from '@leash/kill-switch';
import type { KillGate } from '../agent-loop.deps';
import {
  createAgentLoop,
  type AgentLoop,
  type AgentLoopFactoryOptions,
} from '../agent-loop.factory';
import type { ModelPort, ModelRequest, ModelResponse } from '../model/model.port';
import { ScriptedModel } from '../model/scripted.model';
import { ScenarioRegistry, scenarioTask } from '../scenarios/reference-scenarios';
import { PLANNER_TASKS, type PlannerTask } from '../task-state/planner-task.aggregate';

/*
 * The agent loop on an in-memory store, driven by hand: a spec feeds the
 * events the gates would send and reads what the planner put in its outbox.
 */

export const T0 = Date.parse('2026-03-01T12:00:00Z');
export const PRICES = parsePriceTable('scripted=1/2,gpt-4o-mini=0.15/0.6');

export class MapProfiles implements ProfileSource {
  private readonly profiles = new Map<string, AgentProfile>();
  constructor(
    profiles: Iterable<AgentProfile> = Object.values(REFERENCE_AGENTS).map((a) => a.profile),
  ) {
    for (const profile of profiles) this.add(profile);
  }
  add(profile: AgentProfile): void {
    this.profiles.set(`${profile.name}@${profile.version}`, profile);
    this.profiles.set(profile.name, profile);
  }
  async profile(name: string, version?: number): Promise<AgentProfile | undefined> {
    return this.profiles.get(version === undefined ? name : `${name}@${version}`);
  }
}

/** A kill gate the spec controls, recording tracked calls. */
export class TestKillGate implements KillGate {
  kill: KillV1 | undefined;
  readonly tracked: { target: KillTarget; controller: AbortController }[] = [];
  covering(): KillV1 | undefined {
    return this.kill;
  }
  track(target: KillTarget, controller: AbortController): () => void {
    const entry = { target, controller };
    this.tracked.push(entry);
    return () => this.tracked.splice(this.tracked.indexOf(entry), 1);
  }
}

/** A model that records each request and answers through a function the spec sets. */
export class RecordingTestModel implements ModelPort {
  readonly requests: ModelRequest[] = [];
  constructor(public answer: (request: ModelRequest) => Promise<ModelResponse> | ModelResponse) {}
  async complete(request: ModelRequest): Promise<ModelResponse> {
    this.requests.push(structuredClone({ ...request, signal: undefined }));
    return this.answer(request);
  }
}

export function killEvent(scope: KillV1['scope'], reason = 'runaway'): KillV1 {
  return {
    commandId: `kill-${Math.random()}`,
    scope,
    reason,
    rollback: false,
    issuedBy: 'oncall',
    issuedAt: new Date(T0).toISOString(),
  };
}

export interface LoopHarness {
  readonly engines: Engines;
  readonly loop: AgentLoop;
  readonly clock: ManualClock;
  readonly killGate: TestKillGate;
  readonly registry: ScenarioRegistry;
  /** Requests a scenario (or any input) as a task; returns the task id. */
  start(
    scenario: Pick<ReferenceScenario, 'id' | 'agent' | 'input'>,
    options?: { taskId?: string; tenantId?: string; deadlineAt?: string },
  ): Promise<string>;
  /** Answers the task's pending model reservation. */
  decide(taskId: string, granted?: boolean, cap?: string): Promise<void>;
  complete(actionId: string, output: unknown, status?: 'succeeded' | 'failed'): Promise<void>;
  reject(
    actionId: string,
    code: RejectionCode,
    reason: string,
    extra?: {
      gate?: 'policy' | 'budget' | 'approvals' | 'executor';
      feedback?: string;
      cap?: string;
    },
  ): Promise<void>;
  task(taskId: string): Promise<PlannerTask>;
  /** Events enqueued so far (the relay is off), oldest first. */
  events<T extends EventType>(type: T): Promise<Envelope<T>[]>;
  close(): Promise<void>;
}

let counter = 0;

export async function openLoopHarness(
  options: {
    model?: ModelPort;
    scenarios?: readonly ReferenceScenario[];
    loop?: Partial<AgentLoopFactoryOptions>;
  } = {},
): Promise<LoopHarness> {
  const engines = await openEngines(
    loadConfig(BASE_ENV, { env: { LEASH_BUS_FILE: ':memory:', LEASH_STORE_FILE: ':memory:' } }),
    // The store in memory: unit specs need the port, not SQLite.
    { source: 'planner', relayOutbox: false, memoryStore: true },
  );
  const clock = new ManualClock(T0);
  const killGate = new TestKillGate();
  const registry = new ScenarioRegistry(options.scenarios ?? []);
  const loop = createAgentLoop({
    store: engines.store,
    model: options.model ?? new ScriptedModel(registry),
    modelName: () => 'scripted',
    profiles: new MapProfiles(),
    prices: PRICES,
    killGate,
    clock: clock.now,
    log: { warn: () => undefined, error: () => undefined },
    ...options.loop,
  });
  const all = async () => (await engines.store.outbox.pending(10_000)).map((e) => e.envelope);
  const events = async <T extends EventType>(type: T) =>
    (await all()).filter((e) => e.type === type) as unknown as Envelope<T>[];
  const task = async (taskId: string) =>
    (await engines.store.repository(PLANNER_TASKS).get(taskId))!.doc;
  const attrs = (taskId: string, tenantId = 'acme') => ({
    source: 'test',
    taskId,
    tenantId,
    id: `e-${++counter}`,
  });

  return {
    engines,
    loop,
    clock,
    killGate,
    registry,
    async start(scenario, startOptions = {}) {
      const event = scenarioTask(scenario, {
        tenantId: startOptions.tenantId ?? 'acme',
        taskId: startOptions.taskId ?? `task-${++counter}`,
        ...(startOptions.deadlineAt ? { deadlineAt: startOptions.deadlineAt } : {}),
      });
      await loop.startTask.execute({ event });
      return event.taskId!;
    },
    async decide(taskId, granted = true, cap) {
      const current = await task(taskId);
      const requestId = current.reservation!.requestId;
      await loop.callModel.execute({
        event: createEnvelope(
          'leash.budget.decided.v1',
          {
            requestId,
            taskId,
            kind: 'model',
            granted,
            ...(granted ? { reservationId: requestId, reservedUsdMicros: 10 } : {}),
            ...(cap ? { cap } : {}),
            reason: granted ? 'within caps' : `over ${cap}`,
          },
          { ...attrs(taskId), id: `answer:${requestId}` },
        ),
      });
    },
    async complete(actionId, output, status = 'succeeded') {
      const taskId = actionId.split(':')[0]!;
      await loop.recordObservation.execute({
        event: createEnvelope(
          'leash.actions.completed.v1',
          {
            actionId,
            agent: (await task(taskId)).agent,
            tool: 'any',
            status,
            output: typeof output === 'string' ? output : JSON.stringify(output),
            ...(status === 'failed'
              ? { error: { kind: 'semantic', message: 'no such thing' } }
              : {}),
            attempts: 1,
            durationMs: 1,
            completedAt: new Date(clock.at).toISOString(),
          },
          attrs(taskId),
        ),
      });
    },
    async reject(actionId, code, reason, extra = {}) {
      const taskId = actionId.split(':')[0]!;
      await loop.recordObservation.execute({
        event: createEnvelope(
          'leash.actions.rejected.v1',
          {
            actionId,
            agent: (await task(taskId)).agent,
            tool: 'any',
            gate: extra.gate ?? 'policy',
            code,
            reason,
            ...(extra.feedback ? { feedback: extra.feedback } : {}),
            ...(extra.cap ? { cap: extra.cap } : {}),
          },
          attrs(taskId),
        ),
      });
    },
    task,
    events,
    close: () => engines.close(),
  };
}

export type { AnyEnvelope };
