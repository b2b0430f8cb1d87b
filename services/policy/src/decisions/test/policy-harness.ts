import { ManualClock } from '@leash/clock';
import { BASE_ENV, loadConfig } from '@leash/config';
import { createEnvelope, type ActionProposedV1, type Envelope } from '@leash/contracts';
import { openEngines, type Engines } from '@leash/engines';
import { GateVerifier, generateGateKey } from '@leash/signing';
import type { z } from 'zod';
import { decideActionCommand } from '../decide-action/decide-action.command';
import type { DecisionOutcome } from '../decide-action/decide-action.usecase';
import { createPolicyGate, type PolicyGate, type PolicyGateOptions } from '../policy-gate';

/*
 * The policy gate on the embedded engines, in memory, for specs: a clock the
 * spec moves and a builder of proposals.
 */

/** The policy gate's key pair, made once per test run. */
export const POLICY_KEY = generateGateKey('policy-test');
/** LEASH_POLICY_SIGNING_KEY's value for it. */
export const POLICY_SIGNING_KEY_TEXT = `${POLICY_KEY.signingKey.id}:${POLICY_KEY.signingKey.privateKey}`;

/** A checker of policy decisions, holding the public key only. */
export function policyVerifier(now: () => number = Date.now): GateVerifier {
  return new GateVerifier({ policy: [POLICY_KEY.publicKey] }, { now });
}
export const T0 = Date.parse('2026-03-01T12:00:30Z');

export interface PolicyHarness {
  readonly engines: Engines;
  readonly gate: PolicyGate;
  readonly clock: ManualClock;
  close(): Promise<void>;
}

/** Engines over `:memory:` files unless given; the reference agents seeded. */
export async function openPolicyHarness(
  options: Partial<Omit<PolicyGateOptions, 'store' | 'clock'>> & {
    readonly env?: Record<string, string>;
  } = {},
): Promise<PolicyHarness> {
  const config = loadConfig(BASE_ENV, {
    env: {
      LEASH_BUS_FILE: ':memory:',
      LEASH_STORE_FILE: ':memory:',
      LEASH_PARTITIONS: '2',
      ...options.env,
    },
  });
  // A store in memory unless the spec gave a file: unit specs need the port, not SQLite.
  const engines = await openEngines(config, {
    source: 'policy',
    memoryStore: config.LEASH_STORE_FILE === ':memory:',
  });
  const clock = new ManualClock(T0);
  const gate = createPolicyGate({
    signingKey: POLICY_KEY.signingKey,
    ...options,
    store: engines.store,
    clock: clock.now,
  });
  await gate.seedReferenceAgents();
  return { engines, gate, clock, close: () => engines.close() };
}

let sequence = 0;

export type ProposalInput = Partial<z.input<typeof ActionProposedV1>> & {
  readonly tenantId?: string | null;
  readonly taskId?: string;
};

/** An actions.proposed envelope for the reference agents; every field can be overridden. */
export function proposal(input: ProposalInput = {}): Envelope<'leash.actions.proposed.v1'> {
  sequence += 1;
  const { tenantId = 'acme', taskId = 'task-1', ...data } = input;
  return createEnvelope(
    'leash.actions.proposed.v1',
    {
      actionId: `action-${sequence}`,
      agent: { name: 'support', version: 1 },
      tool: 'lookup_customer',
      arguments: { customer: 'C-1042' },
      step: 1,
      reason: 'the customer asked about an order',
      tainted: [],
      versions: { prompt: 'support@1' },
      ...data,
    },
    { source: 'planner', taskId, ...(tenantId === null ? {} : { tenantId }) },
  );
}

/** A tasks.requested envelope: what the gate must see of a task before it decides its proposals. */
export function taskRequested(
  input: {
    readonly tenantId?: string;
    readonly taskId?: string;
    readonly agent?: string;
    readonly input?: string;
    readonly requestedBy?: string;
  } = {},
): Envelope<'leash.tasks.requested.v1'> {
  const { tenantId = 'acme', taskId = 'task-1', agent = 'support', requestedBy } = input;
  return createEnvelope(
    'leash.tasks.requested.v1',
    {
      agent,
      input: input.input ?? 'A customer asks about an order.',
      ...(requestedBy !== undefined ? { requestedBy } : {}),
    },
    { source: 'upstream', tenantId, taskId },
  );
}

/** Records the task's input first (once per task), then decides: a proposal of a task the gate has seen. */
export async function decideSeen(
  gate: PolicyGate,
  event: Envelope<'leash.actions.proposed.v1'>,
  headers: Readonly<Record<string, string>> = {},
): Promise<DecisionOutcome> {
  if (event.tenantId !== undefined && event.taskId !== undefined) {
    await gate.recordTaskInput.execute({
      event: taskRequested({ tenantId: event.tenantId, taskId: event.taskId }),
    });
  }
  return gate.decideAction.execute(decideActionCommand(event, headers));
}

/** The executor's actions.completed of a proposal: `output` is what the tool returned. */
export function completed(
  of: Envelope<'leash.actions.proposed.v1'>,
  output: unknown,
  status: 'succeeded' | 'failed' = 'succeeded',
): Envelope<'leash.actions.completed.v1'> {
  return createEnvelope(
    'leash.actions.completed.v1',
    {
      actionId: of.data.actionId,
      agent: of.data.agent,
      tool: of.data.tool,
      status,
      output: typeof output === 'string' ? output : JSON.stringify(output),
      ...(status === 'failed' ? { error: { kind: 'semantic', message: 'the tool failed' } } : {}),
      attempts: 1,
      durationMs: 5,
      completedAt: new Date(T0).toISOString(),
    },
    { source: 'executor', tenantId: of.tenantId!, taskId: of.taskId! },
  );
}

/** Another gate's actions.rejected of a proposal (budget over a cap, a reviewer's no). */
export function rejectedBy(
  of: Envelope<'leash.actions.proposed.v1'>,
  gate: 'budget' | 'approvals' | 'executor' = 'approvals',
): Envelope<'leash.actions.rejected.v1'> {
  return createEnvelope(
    'leash.actions.rejected.v1',
    {
      actionId: of.data.actionId,
      agent: of.data.agent,
      tool: of.data.tool,
      gate,
      code: 'approval_rejected',
      reason: 'a reviewer said no',
      versions: {},
    },
    { source: gate, tenantId: of.tenantId!, taskId: of.taskId! },
  );
}
