import { AgentProfile, type AgentProfileInput, type ProfileSource } from '@leash/agents';
import { BASE_ENV, loadConfig } from '@leash/config';
import { createEnvelope, type AnyEnvelope, type Envelope, type EventType } from '@leash/contracts';
import { openEngines, type Engines } from '@leash/engines';
import {
  GateSigner,
  GateVerifier,
  decisionFields,
  generateGateKey,
  generateVerdictKeyPair,
  grantFields,
  proveVerdict,
  verdictSigningKey,
  type VerdictSigningKey,
} from '@leash/signing';
import { ManualClock, type Clock } from '@leash/clock';
import { createApprovalGate, type ApprovalGate } from '../gate/approval-gate.factory';
import type { ReviewerInput } from '../reviewers/reviewer';
import { TrustedFrontEnd, type TrustedFrontEndInput } from '../reviewers/trusted-front-end';

/*
 * Builds the approval gate on the embedded engines for specs: a store in
 * memory (or files, for the integration spec), profiles from a map, a clock
 * the spec moves, and reviewers of two tenants.
 */

/** Each gate's key pair, made once per test run. */
export const GATE_KEYS = {
  policy: generateGateKey('policy-test'),
  budget: generateGateKey('budget-test'),
  approvals: generateGateKey('approvals-test'),
};

/** What the approvals service is configured with: its own private key, the others' public keys. */
export const APPROVALS_KEY_ENV = {
  LEASH_APPROVALS_SIGNING_KEY: `${GATE_KEYS.approvals.signingKey.id}:${GATE_KEYS.approvals.signingKey.privateKey}`,
  LEASH_POLICY_PUBLIC_KEYS: `${GATE_KEYS.policy.publicKey.id}:${GATE_KEYS.policy.publicKey.publicKey}`,
  LEASH_BUDGET_PUBLIC_KEYS: `${GATE_KEYS.budget.publicKey.id}:${GATE_KEYS.budget.publicKey.publicKey}`,
};

/** The gates upstream of approvals, signing what they sign. */
export interface UpstreamSigners {
  readonly policy: GateSigner;
  readonly budget: GateSigner;
}

export function upstreamSigners(keys = GATE_KEYS): UpstreamSigners {
  return {
    policy: new GateSigner('policy', keys.policy.signingKey),
    budget: new GateSigner('budget', keys.budget.signingKey),
  };
}

/** A checker of approvals, as the executor and the budget are: the approvals public key only. */
export function approvalsVerifier(now: () => number = Date.now): GateVerifier {
  return new GateVerifier({ approvals: [GATE_KEYS.approvals.publicKey] }, { now });
}
export const T0 = Date.parse('2026-03-01T12:00:00Z');
export const HOUR = 3_600_000;

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

export function testProfile(overrides: Partial<AgentProfileInput> = {}): AgentProfile {
  return AgentProfile.parse({
    name: 'support',
    version: 1,
    model: 'gpt-4o-mini',
    prompt: { id: 'support', version: '1' },
    tools: ['lookup_customer', 'send_email', 'issue_refund'],
    policy: { id: 'support' },
    caps: {
      task: { tokens: 100_000, toolCalls: 50, wallClockMs: HOUR, usd: 10 },
      tenantDay: { usd: 1_000 },
    },
    approvals: { chain: ['support-leads'], ttlMs: 2 * HOUR },
    ...overrides,
  });
}

/** `support` asks support-leads for 2 h; `it-helpdesk` asks the end user, then the service desk, 30 min each. */
export function referenceProfiles(): MapProfiles {
  const profiles = new MapProfiles();
  profiles.add(testProfile());
  profiles.add(
    testProfile({
      name: 'it-helpdesk',
      tools: ['reset_password', 'install_software'],
      policy: { id: 'it-helpdesk' },
      approvals: { chain: ['end-user', 'it-service-desk'], ttlMs: 30 * 60_000 },
    }),
  );
  return profiles;
}

/** Each test reviewer's key pair, made once per run; `verdictOn` signs with it. */
const REVIEWER_KEY_PAIRS = new Map<string, ReturnType<typeof generateVerdictKeyPair>>();

export function reviewerKeyPair(reviewer: string): ReturnType<typeof generateVerdictKeyPair> {
  let pair = REVIEWER_KEY_PAIRS.get(reviewer);
  if (!pair) {
    pair = generateVerdictKeyPair();
    REVIEWER_KEY_PAIRS.set(reviewer, pair);
  }
  return pair;
}

/** The private key a reviewer signs with. */
export function reviewerSigningKey(reviewer: string): VerdictSigningKey {
  return verdictSigningKey(reviewerKeyPair(reviewer).privateKeyPem);
}

function withKey(reviewer: ReviewerInput): ReviewerInput {
  return { ...reviewer, keys: [{ publicKey: reviewerKeyPair(reviewer.reviewer).publicKey }] };
}

export const REVIEWERS: readonly ReviewerInput[] = [
  { tenantId: 'acme', reviewer: 'alice@acme.example', groups: ['support-leads'] },
  { tenantId: 'acme', reviewer: 'bob@acme.example', groups: ['support-leads', 'finance'] },
  {
    tenantId: 'acme',
    reviewer: 'carol@acme.example',
    groups: ['support-leads'],
    tools: ['send_email'],
  },
  { tenantId: 'acme', reviewer: 'dave@acme.example', groups: ['finance'] },
  { tenantId: 'acme', reviewer: 'eve@acme.example', groups: ['end-user'] },
  { tenantId: 'acme', reviewer: 'frank@acme.example', groups: ['it-service-desk'] },
  {
    tenantId: 'acme',
    reviewer: 'olga@acme.example',
    groups: ['support-leads'],
    active: false,
  },
  { tenantId: 'globex', reviewer: 'mallory@globex.example', groups: ['support-leads'] },
].map(withKey);

export interface Harness {
  readonly engines: Engines;
  readonly clock: ManualClock;
  readonly profiles: MapProfiles;
  /** Sign decisions and grants as the policy and budget services do. */
  readonly upstream: UpstreamSigners;
  /** Checks what the gate signed, with its public key. */
  readonly verifier: GateVerifier;
  readonly gate: ApprovalGate;
  /** Events the gate enqueued and no relay has published (none runs in unit specs). */
  pending(): Promise<AnyEnvelope[]>;
  pendingOf<T extends EventType>(type: T): Promise<Envelope<T>[]>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  /** Front ends the gate trusts to vouch for reviewers. */
  readonly frontEnds?: readonly TrustedFrontEndInput[];
}

export async function openHarness(options: HarnessOptions = {}): Promise<Harness> {
  const config = loadConfig(BASE_ENV, {
    env: { LEASH_BUS_FILE: ':memory:', LEASH_STORE_FILE: ':memory:', LEASH_PARTITIONS: '2' },
  });
  // The store in memory: unit specs need the port, not SQLite.
  const engines = await openEngines(config, { source: 'approvals', memoryStore: true });
  const clock = new ManualClock(T0);
  const profiles = referenceProfiles();
  const gate = createApprovalGate({
    store: engines.store,
    profiles,
    signingKey: GATE_KEYS.approvals.signingKey,
    publicKeys: { policy: [GATE_KEYS.policy.publicKey], budget: [GATE_KEYS.budget.publicKey] },
    frontEnds: (options.frontEnds ?? []).map((f) => TrustedFrontEnd.parse(f)),
    clock,
    approvalValidityMs: 600_000,
  });
  await gate.directory.seed(REVIEWERS);
  const pending = async () => (await engines.store.outbox.pending(10_000)).map((e) => e.envelope);
  return {
    engines,
    clock,
    profiles,
    upstream: upstreamSigners(),
    verifier: approvalsVerifier(() => clock.now()),
    gate,
    pending,
    pendingOf: async <T extends EventType>(type: T) =>
      (await pending()).filter((e) => e.type === type) as unknown as Envelope<T>[],
    close: () => engines.close(),
  };
}

let counter = 0;
export const nextId = (prefix: string): string => `${prefix}-${++counter}`;

export interface FundedOptions {
  readonly tenantId?: string;
  readonly taskId?: string;
  readonly actionId?: string;
  readonly agent?: string;
  readonly tool?: string;
  readonly arguments?: Record<string, unknown>;
  readonly route?: 'allow' | 'approve';
  readonly approvalsRequired?: number;
  /** The reviewer group the policy named (@reviewers), signed with the decision. */
  readonly reviewerGroup?: string;
  /** Put on the event after signing (a redirect on the way). */
  readonly tamperedReviewerGroup?: string;
  readonly step?: number;
  /** Sign with these instead (a forger's keys). */
  readonly forgedBy?: UpstreamSigners;
  /** Change the arguments after signing (tampering on the way). */
  readonly tamperedArguments?: Record<string, unknown>;
}

/** A funded action as budget publishes it: a policy decision and a budget grant, both signed. */
export function fundedEvent(
  signers: UpstreamSigners,
  clock: Clock,
  options: FundedOptions = {},
): Envelope<'leash.actions.funded.v1'> {
  const tenantId = options.tenantId ?? 'acme';
  const taskId = options.taskId ?? nextId('task');
  const actionId = options.actionId ?? nextId('action');
  const tool = options.tool ?? 'issue_refund';
  const args = options.arguments ?? { orderId: 'o-42', amountUsd: 250 };
  const route = options.route ?? 'approve';
  const approvalsRequired = options.approvalsRequired ?? (route === 'approve' ? 1 : 0);
  const identity = { tenantId, taskId, actionId, tool, arguments: args };
  const reviewerGroup = options.tamperedReviewerGroup ?? options.reviewerGroup;
  const expiry = new Date(clock.now() + 24 * HOUR);
  const by = options.forgedBy ?? signers;
  const reservationId = `action:${actionId}`;
  return createEnvelope(
    'leash.actions.funded.v1',
    {
      actionId,
      agent: { name: options.agent ?? 'support', version: 1 },
      tool,
      arguments: options.tamperedArguments ?? args,
      step: options.step ?? 3,
      reason: 'the customer was charged twice for order o-42',
      riskClass: 'irreversible',
      amountUsdMicros: 250_000_000,
      actionClass: 'refund',
      decision: {
        route,
        approvalsRequired,
        ...(reviewerGroup !== undefined ? { reviewerGroup } : {}),
        policyId: 'support',
        policyVersion: 4,
        determiningPolicies: ['refund-above-100-needs-lead'],
        reason: 'refunds above $100 need a support lead',
        signed: by.policy.sign(
          decisionFields(identity, route, 4, approvalsRequired, options.reviewerGroup),
          expiry,
        ),
      },
      grant: {
        reservationId,
        reservedUsdMicros: 1_500,
        signed: by.budget.sign(grantFields(identity, reservationId, 1_500), expiry),
      },
      versions: { profile: 1, prompt: '1', model: 'gpt-4o-mini', policy: 4 },
    },
    { source: 'budget', tenantId, taskId, time: new Date(clock.now()).toISOString() },
  );
}

export type VerdictInput =
  | { verdict: 'approve'; comment?: string }
  | { verdict: 'reject'; feedback: string }
  | { verdict: 'edit'; arguments: Record<string, unknown>; comment?: string };

export interface VerdictOptions {
  readonly actionHash?: string;
  readonly tenantId?: string;
  readonly id?: string;
  /** Sign with this key instead of the reviewer's own; null sends the verdict unsigned. */
  readonly signWith?: VerdictSigningKey | null;
  /** When the proof says it was signed; default now. */
  readonly signedAt?: Date;
}

/** What a verdict names: a requested event, or a pending approval as listed. */
export type VerdictTarget =
  | Envelope<'leash.approvals.requested.v1'>
  | { approvalId: string; actionHash: string; tenantId: string; taskId: string };

/** A reviewer's answer to a request, as a reviewer's process publishes it. */
export function verdictOn(
  target: VerdictTarget,
  reviewer: string,
  verdict: VerdictInput,
  options: VerdictOptions = {},
): Envelope<'leash.approvals.decided.v1'> {
  const ref =
    'data' in target
      ? { ...target.data, tenantId: target.tenantId!, taskId: target.taskId! }
      : target;
  const unsigned = createEnvelope(
    'leash.approvals.decided.v1',
    {
      ...verdict,
      approvalId: ref.approvalId,
      actionHash: options.actionHash ?? ref.actionHash,
      reviewer,
    } as never,
    {
      source: 'reviewer-test',
      tenantId: options.tenantId ?? ref.tenantId,
      taskId: ref.taskId,
      ...(options.id ? { id: options.id } : {}),
    },
  );
  const key = options.signWith === undefined ? reviewerSigningKey(reviewer) : options.signWith;
  return key === null ? unsigned : withProof(unsigned, key, options.signedAt);
}

/** The verdict signed with `key`: the event a reviewer's process publishes. */
export function withProof(
  event: Envelope<'leash.approvals.decided.v1'>,
  key: VerdictSigningKey,
  signedAt?: Date,
): Envelope<'leash.approvals.decided.v1'> {
  return resent(event, { ...event.data, proof: proveVerdict(event, key, signedAt) });
}

/** Another event with this data and the same attributes: what anyone can publish. */
export function resent(
  event: Envelope<'leash.approvals.decided.v1'>,
  data: Envelope<'leash.approvals.decided.v1'>['data'],
  attributes: { readonly id?: string } = {},
): Envelope<'leash.approvals.decided.v1'> {
  return createEnvelope('leash.approvals.decided.v1', data, {
    source: event.source,
    time: event.time,
    id: attributes.id ?? event.id,
    ...(event.tenantId !== undefined ? { tenantId: event.tenantId } : {}),
    ...(event.taskId !== undefined ? { taskId: event.taskId } : {}),
  });
}
