import type { ProfileSource } from '@leash/agents';
import type { KillSwitch } from '@leash/kill-switch';
import { GateSigner, GateVerifier, type GatePublicKey, type GateSigningKey } from '@leash/signing';
import type { Store } from '@leash/store';
import { CloseTaskApprovalsUseCase } from '../close-task-approvals/close-task-approvals.usecase';
import { ExpireApprovalsUseCase } from '../expire-approvals/expire-approvals.usecase';
import { ListPendingApprovalsUseCase } from '../list-pending-approvals/list-pending-approvals.usecase';
import { RecordVerdictUseCase } from '../record-verdict/record-verdict.usecase';
import { RequestApprovalUseCase } from '../request-approval/request-approval.usecase';
import { ReviewerDirectory } from '../reviewers/reviewer-directory';
import type { TrustedFrontEnd } from '../reviewers/trusted-front-end';
import { systemClock, type Clock } from '@leash/clock';
import {
  APPROVALS_SOURCE,
  DEFAULT_APPROVAL_VALIDITY_MS,
  type ApprovalGateDeps,
} from './approval-gate';
import {
  approvalRequests,
  verdictRecords,
  type ApprovalRequest,
  type VerdictRecord,
} from './approvals.aggregates';

/** The read side, which needs only the store: what `leash approvals list` and a reviewer UI use. */
export interface ApprovalQueries {
  readonly directory: ReviewerDirectory;
  readonly listPendingApprovals: ListPendingApprovalsUseCase;
  /** One request (any status) by approval id: what a verdict on it must name, and where it stands. */
  request(approvalId: string): Promise<ApprovalRequest | undefined>;
  /** The audit record of a verdict, by its event id: whether it was accepted, and why not. */
  verdict(verdictId: string): Promise<VerdictRecord | undefined>;
}

export function createApprovalQueries(store: Store, clock: Clock = systemClock): ApprovalQueries {
  const directory = new ReviewerDirectory(store, () => clock.now());
  return {
    directory,
    listPendingApprovals: new ListPendingApprovalsUseCase({ store, clock, directory }),
    request: async (approvalId) => (await store.repository(approvalRequests).get(approvalId))?.doc,
    verdict: async (verdictId) => (await store.repository(verdictRecords).get(verdictId))?.doc,
  };
}

/** Every use case of the approval gate, built without Nest (tests, the CLI, the Nest module). */
export interface ApprovalGate extends ApprovalQueries {
  readonly deps: ApprovalGateDeps;
  readonly requestApproval: RequestApprovalUseCase;
  readonly recordVerdict: RecordVerdictUseCase;
  readonly expireApprovals: ExpireApprovalsUseCase;
  readonly closeTaskApprovals: CloseTaskApprovalsUseCase;
}

export interface ApprovalGateOptions {
  readonly store: Store;
  readonly profiles: ProfileSource;
  /** The approvals gate's private key: it signs approvals and its rejections. */
  readonly signingKey: GateSigningKey;
  /** The policy and budget gates' public keys, to check what reviewers are asked about. */
  readonly publicKeys: {
    readonly policy: readonly GatePublicKey[];
    readonly budget: readonly GatePublicKey[];
  };
  /** Front ends trusted to vouch for reviewers; default none. */
  readonly frontEnds?: readonly TrustedFrontEnd[];
  readonly clock?: Clock;
  readonly approvalValidityMs?: number;
  readonly source?: string;
  readonly killSwitch?: Pick<KillSwitch, 'covering'>;
}

export function createApprovalGate(options: ApprovalGateOptions): ApprovalGate {
  const clock = options.clock ?? systemClock;
  const queries = createApprovalQueries(options.store, clock);
  const { directory } = queries;
  const deps: ApprovalGateDeps = {
    store: options.store,
    profiles: options.profiles,
    signer: new GateSigner('approvals', options.signingKey),
    verifier: new GateVerifier(
      { policy: options.publicKeys.policy, budget: options.publicKeys.budget },
      { now: () => clock.now() },
    ),
    directory,
    frontEnds: options.frontEnds ?? [],
    clock,
    approvalValidityMs: options.approvalValidityMs ?? DEFAULT_APPROVAL_VALIDITY_MS,
    source: options.source ?? APPROVALS_SOURCE,
    ...(options.killSwitch ? { killSwitch: options.killSwitch } : {}),
  };
  return {
    ...queries,
    deps,
    requestApproval: new RequestApprovalUseCase(deps),
    recordVerdict: new RecordVerdictUseCase(deps),
    expireApprovals: new ExpireApprovalsUseCase(deps),
    closeTaskApprovals: new CloseTaskApprovalsUseCase(deps),
  };
}
