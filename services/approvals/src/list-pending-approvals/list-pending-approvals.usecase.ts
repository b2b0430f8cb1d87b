import type { AgentRef, RiskClass } from '@leash/contracts';
import type { Store } from '@leash/store';
import { approvalRequests, type ApprovalRequest } from '../gate/approvals.aggregates';
import { utcIso, type Clock } from '@leash/clock';
import { checkReviewer, type ReviewerDirectory } from '../reviewers/reviewer-directory';
import type { ListPendingApprovalsQuery } from './list-pending-approvals.query';

/** One request waiting for reviewers, as `leash approvals list` shows it. */
export interface PendingApproval {
  readonly approvalId: string;
  /** What a verdict must name. */
  readonly actionHash: string;
  readonly tenantId: string;
  readonly taskId: string;
  readonly actionId: string;
  readonly agent: AgentRef;
  readonly tool: string;
  readonly arguments: Record<string, unknown>;
  readonly reason: string;
  readonly riskClass: RiskClass;
  readonly policy: {
    readonly policyId: string;
    readonly version: number;
    readonly determiningPolicies: readonly string[];
    /** Why the policy sent the action to a human: the rules and their reasons. */
    readonly reason: string;
    /** Arguments whose values came from untrusted text: the policy gate's signed finding. */
    readonly taintedArgs: readonly string[];
  };
  readonly reservedUsdMicros: number;
  readonly history: readonly string[];
  readonly reviewerGroup: string;
  readonly reviewersRequired: number;
  /** Reviewers who approved so far. */
  readonly approvedBy: readonly string[];
  /** Stage in the escalation chain, 0 for the first group. */
  readonly stage: number;
  readonly requestedAt: string;
  readonly expiresAt: string;
}

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1_000;

/** Lists requests still waiting for reviewers, soonest expiry first. Expired ones wait for the sweeper and are left out. */
export class ListPendingApprovalsUseCase {
  constructor(
    private readonly deps: {
      readonly store: Store;
      readonly clock: Clock;
      readonly directory: ReviewerDirectory;
    },
  ) {}

  async execute(query: ListPendingApprovalsQuery = {}): Promise<PendingApproval[]> {
    if (query.reviewer !== undefined && query.tenantId === undefined) {
      throw new Error('listing by reviewer needs a tenant: reviewers are per tenant');
    }
    const limit = Math.min(Math.max(1, query.limit ?? DEFAULT_LIMIT), MAX_LIMIT);
    const found = await this.deps.store.repository(approvalRequests).find({
      where: {
        status: 'pending',
        ...(query.tenantId !== undefined ? { tenantId: query.tenantId } : {}),
      },
      range: { field: 'expiresAt', gt: utcIso(this.deps.clock.now()) },
      orderBy: 'expiresAt',
      // Group and reviewer filters run here, so read past the limit to fill it.
      limit: query.group !== undefined || query.reviewer !== undefined ? MAX_LIMIT * 10 : limit,
    });
    const reviewer =
      query.reviewer !== undefined
        ? await this.deps.directory.get(query.tenantId!, query.reviewer)
        : undefined;
    const pending: PendingApproval[] = [];
    for (const { doc } of found) {
      if (query.group !== undefined && doc.reviewerGroup !== query.group) continue;
      if (query.reviewer !== undefined) {
        const check = checkReviewer(reviewer, {
          tenantId: doc.tenantId,
          reviewer: query.reviewer,
          group: doc.reviewerGroup,
          tool: doc.funded.tool,
        });
        if (!check.allowed || doc.approvals.some((a) => a.reviewer === query.reviewer)) continue;
      }
      pending.push(toPendingApproval(doc));
      if (pending.length >= limit) break;
    }
    return pending;
  }
}

export function toPendingApproval(request: ApprovalRequest): PendingApproval {
  const { funded } = request;
  return {
    approvalId: request.approvalId,
    actionHash: request.actionHash,
    tenantId: request.tenantId,
    taskId: request.taskId,
    actionId: request.actionId,
    agent: funded.agent,
    tool: funded.tool,
    arguments: funded.arguments,
    reason: funded.reason,
    riskClass: funded.riskClass,
    policy: {
      policyId: funded.decision.policyId,
      version: funded.decision.policyVersion,
      determiningPolicies: funded.decision.determiningPolicies,
      reason: funded.decision.reason,
      // Requests stored before the finding was part of a decision have none.
      taintedArgs: funded.decision.taintedArgs ?? [],
    },
    reservedUsdMicros: funded.grant.reservedUsdMicros,
    history: request.history,
    reviewerGroup: request.reviewerGroup,
    reviewersRequired: request.reviewersRequired,
    approvedBy: request.approvals.map((a) => a.reviewer),
    stage: request.stage,
    requestedAt: request.requestedAt,
    expiresAt: request.expiresAt,
  };
}
