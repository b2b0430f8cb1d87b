import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentProfile, type AgentProfileInput, type Caps, type ProfileSource } from '@leash/agents';
import { BASE_ENV, loadConfig } from '@leash/config';
import {
  createEnvelope,
  type AnyEnvelope,
  type Envelope,
  type EventType,
  type UsageRecordedV1,
} from '@leash/contracts';
import { openEngines, type Engines } from '@leash/engines';
import { GateSigner, GateVerifier, decisionFields, generateGateKey } from '@leash/signing';
import type { z } from 'zod';
import { parsePriceTable } from '../ledger/price-table';
import { ManualClock, type Clock } from '@leash/clock';
import type { LedgerDeps } from '../ledger/ledger';
import { createLedgerUseCases, type LedgerUseCases } from '../ledger/ledger.factory';
import {
  BudgetCounter,
  BudgetReservation,
  type BudgetCounterDoc,
  type BudgetReservationDoc,
} from '../ledger/ledger.aggregates';

/*
 * Builds the ledger on the embedded engines for specs: a store (and bus) in
 * memory or in a temp directory, profiles from a map, a clock the spec moves.
 */

/**
 * The budget gate's key pair; the policy gate's, to sign the decisions it
 * funds; the approvals gate's, to sign the rejections it frees: made once per run.
 */
export const BUDGET_KEY = generateGateKey('budget-test');
export const POLICY_KEY = generateGateKey('policy-test');
export const APPROVALS_KEY = generateGateKey('approvals-test');
/** LEASH_BUDGET_SIGNING_KEY's value for it. */
export const BUDGET_SIGNING_KEY_TEXT = `${BUDGET_KEY.signingKey.id}:${BUDGET_KEY.signingKey.privateKey}`;
/** The budget service's key variables: its own private key, the policy and approvals gates' public ones. */
export const BUDGET_KEY_ENV = {
  LEASH_BUDGET_SIGNING_KEY: BUDGET_SIGNING_KEY_TEXT,
  LEASH_POLICY_PUBLIC_KEYS: `${POLICY_KEY.publicKey.id}:${POLICY_KEY.publicKey.publicKey}`,
  LEASH_APPROVALS_PUBLIC_KEYS: `${APPROVALS_KEY.publicKey.id}:${APPROVALS_KEY.publicKey.publicKey}`,
};
export const PRICES = parsePriceTable('gpt-4o-mini=0.15/0.6,free-model=0/0');
export const T0 = Date.parse('2026-03-01T12:00:00Z');

export class MapProfiles implements ProfileSource {
  private readonly profiles = new Map<string, AgentProfile>();
  async profile(name: string, version?: number): Promise<AgentProfile | undefined> {
    if (version !== undefined) return this.profiles.get(`${name}@${version}`);
    const versions = [...this.profiles.values()].filter((p) => p.name === name);
    return versions.sort((a, b) => b.version - a.version)[0];
  }
  add(profile: AgentProfile): AgentProfile {
    this.profiles.set(`${profile.name}@${profile.version}`, profile);
    return profile;
  }
}

export type CapsInput = z.input<typeof Caps>;

export function testProfile(
  caps: CapsInput,
  overrides: Partial<AgentProfileInput> = {},
): AgentProfile {
  return AgentProfile.parse({
    name: 'procurement',
    version: 1,
    model: 'gpt-4o-mini',
    prompt: { id: 'procurement', version: '1' },
    tools: ['place_purchase_order', 'transfer_funds', 'read_inventory'],
    policy: { id: 'procurement' },
    caps,
    ...overrides,
  });
}

/** Roomy caps: a spec tightens the one it is about. */
export function roomyCaps(
  overrides: {
    task?: Partial<CapsInput['task']>;
    tenantDay?: Partial<CapsInput['tenantDay']>;
    alarms?: number[];
  } = {},
): CapsInput {
  return {
    task: {
      tokens: 1_000_000,
      toolCalls: 1_000,
      wallClockMs: 3_600_000,
      usd: 100,
      ...overrides.task,
    },
    tenantDay: { usd: 10_000, classes: {}, ...overrides.tenantDay },
    ...(overrides.alarms ? { alarms: overrides.alarms } : {}),
  };
}

export interface Harness {
  readonly engines: Engines;
  readonly clock: ManualClock;
  readonly profiles: MapProfiles;
  /** Signs grants, as the budget service does. */
  readonly signer: GateSigner;
  /** Signs the decisions the ledger funds, as the policy service does. */
  readonly policy: GateSigner;
  /** Signs rejections, as the approvals service does. */
  readonly approvals: GateSigner;
  /** Checks grants with the budget gate's public key, as the executor does. */
  readonly verifier: GateVerifier;
  readonly deps: LedgerDeps;
  readonly useCases: LedgerUseCases;
  /** Events the ledger enqueued and the relay has not yet published. */
  pending(): Promise<AnyEnvelope[]>;
  pendingOf<T extends EventType>(type: T): Promise<Envelope<T>[]>;
  /** A counter's tallies (`task:<id>`, `day:<tenant>:<day>`), as stored. */
  tallies(counterId: string): Promise<BudgetCounterDoc['tallies'] | undefined>;
  reservation(id: string): Promise<BudgetReservationDoc | undefined>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  /** Keep the engines in files (in this directory) so a spec can close and reopen them. */
  readonly dir?: string;
  readonly clock?: ManualClock;
  readonly profiles?: MapProfiles;
  readonly partitions?: number;
}

export function tempDir(): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'leash-budget-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function openHarness(options: HarnessOptions = {}): Promise<Harness> {
  const config = loadConfig(BASE_ENV, {
    env: {
      LEASH_BUS_FILE: options.dir ? join(options.dir, 'bus.db') : ':memory:',
      LEASH_STORE_FILE: options.dir ? join(options.dir, 'store.db') : ':memory:',
      LEASH_PARTITIONS: String(options.partitions ?? 4),
    },
  });
  // A store in memory unless the spec gave a directory: unit specs need the port, not SQLite.
  const engines = await openEngines(config, { source: 'budget', memoryStore: !options.dir });
  const clock = options.clock ?? new ManualClock(T0);
  const profiles = options.profiles ?? new MapProfiles();
  const signer = new GateSigner('budget', BUDGET_KEY.signingKey);
  const policy = new GateSigner('policy', POLICY_KEY.signingKey);
  const approvals = new GateSigner('approvals', APPROVALS_KEY.signingKey);
  const verifier = new GateVerifier({ budget: [BUDGET_KEY.publicKey] }, { now: () => clock.now() });
  const deps: LedgerDeps = {
    store: engines.store,
    profiles,
    signer,
    verifier: new GateVerifier(
      { policy: [POLICY_KEY.publicKey], approvals: [APPROVALS_KEY.publicKey] },
      { now: () => clock.now() },
    ),
    prices: PRICES,
    clock,
    settleGraceMs: 60_000,
  };
  const pending = async () => (await engines.store.outbox.pending(10_000)).map((e) => e.envelope);
  return {
    engines,
    clock,
    profiles,
    signer,
    policy,
    approvals,
    verifier,
    deps,
    useCases: createLedgerUseCases(deps),
    pending,
    pendingOf: async <T extends EventType>(type: T) =>
      (await pending()).filter((e) => e.type === type) as unknown as Envelope<T>[],
    tallies: async (id) => (await engines.store.repository(BudgetCounter).get(id))?.doc.tallies,
    reservation: async (id) => (await engines.store.repository(BudgetReservation).get(id))?.doc,
    close: () => engines.close(),
  };
}

let counter = 0;
const nextId = (prefix: string) => `${prefix}-${++counter}`;

export interface DecidedOptions {
  readonly tenantId?: string;
  readonly taskId?: string;
  readonly actionId?: string;
  readonly tool?: string;
  readonly actionClass?: string;
  readonly amountUsd?: number;
  readonly arguments?: Record<string, unknown>;
  readonly profile?: AgentProfile;
  readonly route?: 'allow' | 'approve';
  readonly expiresAt?: number;
}

/** A policy decision as the policy service publishes it, signed with the test key. */
export function decidedEvent(
  signer: GateSigner,
  clock: Clock,
  options: DecidedOptions = {},
): Envelope<'leash.actions.decided.v1'> {
  const tenantId = options.tenantId ?? 'acme';
  const taskId = options.taskId ?? nextId('task');
  const actionId = options.actionId ?? nextId('action');
  const tool = options.tool ?? 'place_purchase_order';
  const args = options.arguments ?? { sku: 'bolt', amountUsd: options.amountUsd ?? 0 };
  const route = options.route ?? 'allow';
  const identity = { tenantId, taskId, actionId, tool, arguments: args };
  const signed = signer.sign(
    decisionFields(identity, route, 1, 0),
    new Date(options.expiresAt ?? clock.now() + 600_000),
  );
  const profile = options.profile;
  return createEnvelope(
    'leash.actions.decided.v1',
    {
      actionId,
      agent: { name: profile?.name ?? 'procurement', version: profile?.version ?? 1 },
      tool,
      arguments: args,
      step: 1,
      reason: 'stock is low',
      riskClass: 'write',
      ...(options.amountUsd !== undefined
        ? { amountUsdMicros: Math.round(options.amountUsd * 1e6) }
        : {}),
      actionClass: options.actionClass ?? 'purchase_order',
      decision: {
        route,
        approvalsRequired: 0,
        policyId: 'procurement',
        policyVersion: 1,
        determiningPolicies: [],
        reason: 'permitted',
        irreversibleLifted: false,
        signed,
      },
      versions: { profile: 1, policy: 1 },
    },
    { source: 'policy', tenantId, taskId },
  );
}

/** The reservation request budget makes of a decision (what FundDecidedActionUseCase enqueues). */
export function actionRequestEvent(
  decided: Envelope<'leash.actions.decided.v1'>,
  deadlineAt?: number,
): Envelope<'leash.budget.requested.v1'> {
  const requestId = `action:${decided.data.actionId}`;
  return createEnvelope(
    'leash.budget.requested.v1',
    {
      kind: 'action',
      requestId,
      taskId: decided.taskId!,
      actionId: decided.data.actionId,
      deadlineAt: new Date(
        deadlineAt ?? Date.parse(decided.data.decision.signed.expiresAt) + 60_000,
      ).toISOString(),
      decided: decided.data,
    },
    {
      id: `request:${requestId}`,
      source: 'budget',
      tenantId: decided.tenantId,
      taskId: decided.taskId,
    },
  );
}

export interface ModelRequestOptions {
  readonly tenantId?: string;
  readonly taskId: string;
  readonly requestId?: string;
  readonly model?: string;
  readonly inputTokens?: number;
  readonly outputTokens?: number;
  readonly deadlineAt?: number;
}

export function modelRequestEvent(
  clock: Clock,
  options: ModelRequestOptions,
): Envelope<'leash.budget.requested.v1'> {
  return createEnvelope(
    'leash.budget.requested.v1',
    {
      kind: 'model',
      requestId: options.requestId ?? nextId('llm'),
      taskId: options.taskId,
      deadlineAt: new Date(options.deadlineAt ?? clock.now() + 120_000).toISOString(),
      model: options.model ?? 'gpt-4o-mini',
      estimate: {
        inputTokens: options.inputTokens ?? 1_000,
        outputTokens: options.outputTokens ?? 500,
      },
    },
    { source: 'planner', tenantId: options.tenantId ?? 'acme', taskId: options.taskId },
  );
}

export function taskRequestedEvent(options: {
  tenantId?: string;
  taskId: string;
  agent?: string;
  agentVersion?: number;
}): Envelope<'leash.tasks.requested.v1'> {
  return createEnvelope(
    'leash.tasks.requested.v1',
    {
      agent: options.agent ?? 'procurement',
      ...(options.agentVersion !== undefined ? { agentVersion: options.agentVersion } : {}),
      input: 'keep bolts in stock',
    },
    { source: 'upstream', tenantId: options.tenantId ?? 'acme', taskId: options.taskId },
  );
}

export function usageEvent(
  data: z.input<typeof UsageRecordedV1>,
  tenantId = 'acme',
): Envelope<'leash.usage.recorded.v1'> {
  return createEnvelope('leash.usage.recorded.v1', data, {
    source: 'planner',
    tenantId,
    taskId: data.taskId,
  });
}
