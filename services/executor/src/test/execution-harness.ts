import { ManualClock, type Clock } from '@leash/clock';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BASE_ENV, loadConfig } from '@leash/config';
import {
  createEnvelope,
  type ActionAuthorizedV1,
  type AnyEnvelope,
  type Envelope,
  type EventType,
  type RiskClass,
} from '@leash/contracts';
import { openEngines, type Engines } from '@leash/engines';
import {
  GateSigner,
  GateVerifier,
  approvalFields,
  decisionFields,
  generateGateKey,
  grantFields,
  type ActionIdentity,
  type GatePublicKeys,
  type GateSigningKey,
} from '@leash/signing';
import { createExecution, type Execution } from '../execution/execution.factory';
import type { KillGate } from '../execution/kill-gate';
import type { ExecutableEvent } from '../execution/verify-action';
import { createToolRegistry, type ToolRegistry } from '../tools/tool-registry';

/*
 * Builds the executor on the embedded engines for specs: in memory (unit
 * specs) or in a temp directory (integration specs, restarts), with a clock
 * the spec moves, and each gate's test key pair: the gates sign with the
 * private keys, the executor holds only the public ones.
 */

type GateKeys = Record<'policy' | 'budget' | 'approvals', { signingKey: GateSigningKey }>;

function freshKeys() {
  return {
    policy: generateGateKey('policy-test'),
    budget: generateGateKey('budget-test'),
    approvals: generateGateKey('approvals-test'),
  };
}

/** Each gate's key pair, made once per test run. */
export const GATE_KEYS = freshKeys();

/** What the executor holds: the three gates' public keys. */
export const PUBLIC_KEYS: GatePublicKeys = {
  policy: [GATE_KEYS.policy.publicKey],
  budget: [GATE_KEYS.budget.publicKey],
  approvals: [GATE_KEYS.approvals.publicKey],
};

/** The executor's key variables for PUBLIC_KEYS. */
export const EXECUTOR_KEY_ENV = {
  LEASH_POLICY_PUBLIC_KEYS: `${GATE_KEYS.policy.publicKey.id}:${GATE_KEYS.policy.publicKey.publicKey}`,
  LEASH_BUDGET_PUBLIC_KEYS: `${GATE_KEYS.budget.publicKey.id}:${GATE_KEYS.budget.publicKey.publicKey}`,
  LEASH_APPROVALS_PUBLIC_KEYS: `${GATE_KEYS.approvals.publicKey.id}:${GATE_KEYS.approvals.publicKey.publicKey}`,
};

/** The three gates, each signing what it signs. */
export interface GateSigners {
  readonly policy: GateSigner;
  readonly budget: GateSigner;
  readonly approvals: GateSigner;
}

export function gateSigners(keys: GateKeys = GATE_KEYS): GateSigners {
  return {
    policy: new GateSigner('policy', keys.policy.signingKey),
    budget: new GateSigner('budget', keys.budget.signingKey),
    approvals: new GateSigner('approvals', keys.approvals.signingKey),
  };
}

/** Keys with the gates' ids that are not the gates' own: a forger's. */
export function forgerSigners(): GateSigners {
  return gateSigners(freshKeys());
}

/** The executor's checker: public keys only. */
export function executorVerifier(now: () => number = Date.now): GateVerifier {
  return new GateVerifier(PUBLIC_KEYS, { now });
}
export const T0 = Date.parse('2026-03-01T12:00:00Z');

export interface HarnessOptions {
  /** Keep the engines in files in this directory; in memory otherwise. */
  readonly dir?: string;
  readonly clock?: ManualClock;
  readonly registry?: ToolRegistry;
  readonly killGate?: KillGate;
  readonly outputLimitBytes?: number;
}

export interface Harness {
  readonly engines: Engines;
  readonly clock: ManualClock;
  /** Sign as the policy gate, the budget gate and approvals do. */
  readonly signers: GateSigners;
  readonly execution: Execution;
  /** Events enqueued in the outbox and not yet published. */
  pending(): Promise<AnyEnvelope[]>;
  pendingOf<T extends EventType>(type: T): Promise<Envelope<T>[]>;
  close(): Promise<void>;
}

export function tempDir(): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'leash-executor-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export function engineFiles(dir: string): { bus: string; store: string } {
  return { bus: join(dir, 'bus.db'), store: join(dir, 'store.db') };
}

export async function openHarness(options: HarnessOptions = {}): Promise<Harness> {
  const files = options.dir ? engineFiles(options.dir) : { bus: ':memory:', store: ':memory:' };
  const config = loadConfig(BASE_ENV, {
    env: { LEASH_BUS_FILE: files.bus, LEASH_STORE_FILE: files.store, LEASH_PARTITIONS: '4' },
  });
  // A store in memory unless the spec gave a directory: unit specs need the port, not SQLite.
  const engines = await openEngines(config, { source: 'executor', memoryStore: !options.dir });
  const clock = options.clock ?? new ManualClock(T0);
  const execution = createExecution({
    store: engines.store,
    verifier: executorVerifier(() => clock.now()),
    clock,
    registry: options.registry ?? createToolRegistry(),
    // No jitter wait in specs: backoff is exercised, its duration is not.
    random: () => 0,
    ...(options.killGate ? { killGate: options.killGate } : {}),
    ...(options.outputLimitBytes !== undefined
      ? { outputLimitBytes: options.outputLimitBytes }
      : {}),
  });
  await execution.backends.seed();
  const pending = async () =>
    (await engines.store.outbox.pending(10_000)).map((entry) => entry.envelope);
  return {
    engines,
    clock,
    signers: gateSigners(),
    execution,
    pending,
    pendingOf: async <T extends EventType>(type: T) =>
      (await pending()).filter((e) => e.type === type) as unknown as Envelope<T>[],
    close: () => engines.close(),
  };
}

let counter = 0;
export const nextId = (prefix: string) => `${prefix}-${++counter}-${process.pid}`;

export interface ActionOptions {
  readonly tenantId?: string;
  readonly taskId?: string;
  readonly actionId?: string;
  readonly eventId?: string;
  readonly tool?: string;
  readonly arguments?: Record<string, unknown>;
  readonly riskClass?: RiskClass;
  readonly agent?: string;
  readonly step?: number;
  readonly route?: 'allow' | 'approve';
  readonly approvalsRequired?: number;
  readonly reservedUsdMicros?: number;
  /** Signature expiry; default ten minutes from the clock. */
  readonly expiresAt?: number;
  /** Reviewers of the approval; an approval is attached when given (or when route is approve). */
  readonly reviewers?: readonly string[];
  /** Sign with these instead (e.g. keys that are not the gates': a forgery). */
  readonly signWith?: GateSigners;
}

/** A funded action as the budget gate publishes it, every signature valid unless told otherwise. */
/** Who signs, and when: a harness, or a signer with any clock. */
export interface Signing {
  readonly signers: GateSigners;
  readonly clock: Clock;
}

export function fundedAction(
  h: Signing,
  options: ActionOptions = {},
): Envelope<'leash.actions.funded.v1'> {
  const { identity, data, attributes } = signedAction(h, options);
  void identity;
  return createEnvelope('leash.actions.funded.v1', data, attributes);
}

/** An authorized action as the approvals service publishes it, with a signed approval. */
export function authorizedAction(
  h: Signing,
  options: ActionOptions = {},
): Envelope<'leash.actions.authorized.v1'> {
  const { identity, data, attributes, signers, expiresAt } = signedAction(h, {
    route: 'approve',
    approvalsRequired: 1,
    ...options,
  });
  const reviewers = options.reviewers ?? ['reviewer-1'];
  const approvalId = nextId('approval');
  const approval: ActionAuthorizedV1['approval'] = {
    approvalId,
    reviewers: [...reviewers],
    signed: signers.approvals.sign(approvalFields(identity, approvalId, reviewers), expiresAt),
  };
  return createEnvelope('leash.actions.authorized.v1', { ...data, approval }, attributes);
}

function signedAction(h: Signing, options: ActionOptions) {
  const signers = options.signWith ?? h.signers;
  const tenantId = options.tenantId ?? 'acme';
  const taskId = options.taskId ?? nextId('task');
  const actionId = options.actionId ?? nextId('action');
  const tool = options.tool ?? 'open_ticket';
  const args = options.arguments ?? ticketArguments();
  const route = options.route ?? 'allow';
  const approvalsRequired = options.approvalsRequired ?? 0;
  const reservedUsdMicros = options.reservedUsdMicros ?? 0;
  const expiresAt = new Date(options.expiresAt ?? h.clock.now() + 600_000);
  const identity: ActionIdentity = { tenantId, taskId, actionId, tool, arguments: args };
  const reservationId = `reservation:${actionId}`;
  const data = {
    actionId,
    agent: { name: options.agent ?? 'it-helpdesk', version: 1 },
    tool,
    arguments: args,
    step: options.step ?? 1,
    reason: 'the user asked for it',
    riskClass: options.riskClass ?? ('write' as const),
    actionClass: 'test',
    decision: {
      route,
      approvalsRequired,
      policyId: 'it-helpdesk',
      policyVersion: 1,
      determiningPolicies: ['open-ticket'],
      reason: 'allowed',
      irreversibleLifted: false,
      signed: signers.policy.sign(decisionFields(identity, route, 1, approvalsRequired), expiresAt),
    },
    versions: { profile: 1, policy: 1 },
    grant: {
      reservationId,
      reservedUsdMicros,
      signed: signers.budget.sign(
        grantFields(identity, reservationId, reservedUsdMicros),
        expiresAt,
      ),
    },
  };
  const attributes = {
    id: options.eventId ?? nextId('event'),
    source: 'budget',
    tenantId,
    taskId,
  };
  return { identity, data, attributes, signers, expiresAt };
}

/** The same event with its data changed after signing: what a tampering hop would send. */
export function tampered<E extends ExecutableEvent>(
  event: E,
  change: (data: E['data']) => E['data'],
): E {
  return { ...event, id: nextId('event'), data: change(structuredClone(event.data)) };
}

let ticketCounter = 0;
export function ticketArguments(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    requester: 'alice@acme.example',
    subject: `Laptop will not boot (${++ticketCounter})`,
    description: 'It shows a blinking cursor after the logo.',
    priority: 'normal',
    ...overrides,
  };
}

export function orderArguments(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    supplierId: 'SUP-OFFICE',
    sku: 'PAPER-A4',
    quantity: 40,
    unitPriceUsd: 24.5,
    amountUsd: 980,
    justification: 'stock 12 below reorder point 50',
    ...overrides,
  };
}
