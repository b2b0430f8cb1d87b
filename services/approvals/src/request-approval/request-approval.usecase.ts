import { EventValidationError, type ActionFundedV1 } from '@leash/contracts';
import { actionHash, decisionFieldsOf, grantFields, type ActionIdentity } from '@leash/signing';
import { transactionRetryingConflicts } from '@leash/store';
import {
  approvalIdFor,
  approvalRequests,
  type ApprovalRequest,
} from '../gate/approvals.aggregates';
import {
  actionRejectedEvent,
  approvalRequestedEvent,
  type Rejection,
} from '../gate/approval-events';
import { utcIso } from '@leash/clock';
import { killRefusal } from '@leash/kill-switch';
import {
  CONSUMERS,
  actionLine,
  appendHistory,
  taskFinished,
  type ApprovalGateDeps,
} from '../gate/approval-gate';
import type { RequestApprovalCommand } from './request-approval.command';

export type RequestApprovalOutcome =
  /** Route allow: only noted in the task's history. */
  | 'noted'
  /** Seen before (the same event, or another funding of the same action). */
  | 'duplicate'
  | 'requested'
  /** Refused before any reviewer saw it; actions.rejected was sent. */
  | 'rejected';

/**
 * Puts a funded action whose route is `approve` in front of the first
 * reviewer group of its agent's chain. The request, the history entry and
 * approvals.requested are written in one transaction with the inbox claim.
 *
 * The policy decision and the budget grant are verified first: a reviewer
 * must never be asked about an action no gate allowed, and the number of
 * reviewers required is read from the signed decision only.
 */
export class RequestApprovalUseCase {
  constructor(
    private readonly deps: Pick<
      ApprovalGateDeps,
      'store' | 'profiles' | 'signer' | 'verifier' | 'clock' | 'source' | 'killSwitch'
    >,
  ) {}

  async execute({ event }: RequestApprovalCommand): Promise<RequestApprovalOutcome> {
    const { tenantId, taskId } = event;
    if (!tenantId || !taskId) {
      // Without them there is no action hash to bind a verdict to.
      throw new EventValidationError(`${event.type} ${event.id} has no tenantId or taskId`);
    }
    const funded = event.data;
    const now = this.deps.clock.now();
    if (funded.decision.route !== 'approve') {
      return transactionRetryingConflicts(this.deps.store, async (tx) => {
        if (!(await tx.inbox.claim(CONSUMERS.actionsFunded, event.id))) return 'duplicate';
        await appendHistory(
          tx,
          tenantId,
          taskId,
          `${actionLine(funded)}: allowed, runs without review`,
          now,
        );
        return 'noted';
      });
    }

    const identity: ActionIdentity = {
      tenantId,
      taskId,
      actionId: funded.actionId,
      tool: funded.tool,
      arguments: funded.arguments,
    };
    // Reads stay outside the transaction: the catalog reads the store on its own.
    const invalid = this.verify(identity, funded);
    const { chain, refusal } = invalid
      ? { chain: undefined, refusal: invalid }
      : await this.chainOf(funded);

    return transactionRetryingConflicts(this.deps.store, async (tx) => {
      if (!(await tx.inbox.claim(CONSUMERS.actionsFunded, event.id))) return 'duplicate';
      const approvalId = approvalIdFor(tenantId, funded.actionId, 0);
      const requests = tx.repository(approvalRequests);
      if (await requests.get(approvalId)) return 'duplicate';

      // Checked in the transaction, so a kill applied during the checks above still counts.
      const kill = this.deps.killSwitch?.covering({
        tenantId,
        agent: funded.agent.name,
        taskId,
      });
      const finished = await taskFinished(tx, tenantId, taskId);
      if (kill || finished || !chain) {
        const rejection: Rejection = kill
          ? { code: 'killed', reason: killRefusal(kill, 'no reviewer is asked about it') }
          : finished
            ? {
                code: 'task_finished',
                reason: `the task already finished (${finished.status}); no reviewer is asked about it`,
              }
            : (refusal ?? { code: 'gate_unavailable', reason: 'no approval chain' });
        await appendHistory(
          tx,
          tenantId,
          taskId,
          `${actionLine(funded)}: refused, ${rejection.reason}`,
          now,
        );
        await tx.outbox.enqueue(
          'actions.rejected',
          actionRejectedEvent(
            funded,
            {
              tenantId,
              taskId,
              id: `actions.rejected:${event.id}`,
              source: this.deps.source,
              time: utcIso(now),
            },
            rejection,
            // Only an action whose decision and grant verified is vouched for.
            ...(invalid ? [] : [{ signer: this.deps.signer, now }]),
          ),
        );
        return 'rejected';
      }

      const group = chain.chain[0]!;
      const history = await appendHistory(
        tx,
        tenantId,
        taskId,
        `${actionLine(funded)}: sent to reviewers (${group})`,
        now,
      );
      const request: ApprovalRequest = {
        approvalId,
        tenantId,
        taskId,
        actionId: funded.actionId,
        actionHash: actionHash(identity),
        stage: 0,
        chain: [...chain.chain],
        ttlMs: chain.ttlMs,
        reviewerGroup: group,
        // A route of approve with 0 required still means a human: one.
        reviewersRequired: Math.max(1, funded.decision.approvalsRequired),
        status: 'pending',
        approvals: [],
        funded,
        history,
        requestedAt: utcIso(now),
        expiresAt: utcIso(now + chain.ttlMs),
      };
      await requests.insert(request);
      await tx.outbox.enqueue(
        'approvals.requested',
        approvalRequestedEvent(request, this.deps.source),
      );
      return 'requested';
    });
  }

  /** The decision and the grant must be signed for exactly this action and still valid. */
  private verify(identity: ActionIdentity, funded: ActionFundedV1): Rejection | undefined {
    const { decision, grant } = funded;
    const decisionCheck = this.deps.verifier.verify(
      decisionFieldsOf(identity, decision),
      decision.signed,
    );
    if (!decisionCheck.ok) {
      return {
        code: decisionCheck.failure === 'expired' ? 'expired' : 'invalid_signature',
        reason: `the policy decision ${decisionCheck.reason} (${decisionCheck.failure}); it was not put to reviewers`,
      };
    }
    const grantCheck = this.deps.verifier.verify(
      grantFields(identity, grant.reservationId, grant.reservedUsdMicros),
      grant.signed,
    );
    if (!grantCheck.ok) {
      return {
        code: grantCheck.failure === 'expired' ? 'expired' : 'invalid_signature',
        reason: `the budget grant ${grantCheck.reason} (${grantCheck.failure}); it was not put to reviewers`,
      };
    }
    return undefined;
  }

  private async chainOf(
    funded: ActionFundedV1,
  ): Promise<{ chain?: { chain: readonly string[]; ttlMs: number }; refusal?: Rejection }> {
    const profile = await this.deps.profiles.profile(funded.agent.name, funded.agent.version);
    if (!profile) {
      // Fail closed: without the profile nobody knows who may approve.
      return {
        refusal: {
          code: 'gate_unavailable',
          reason: `agent ${funded.agent.name} v${funded.agent.version} is unknown to the approvals gate, so no reviewer group can be asked`,
        },
      };
    }
    const { chain, ttlMs } = profile.approvals;
    return { chain: { chain: chainFrom(chain, funded.decision.reviewerGroup), ttlMs } };
  }
}

/**
 * Who is asked, in order: the agent's chain, or, where the policy named a
 * group, the chain from that group on (escalation goes up from where the
 * policy started it, never back to the groups before it). A group the chain
 * does not list is asked alone.
 */
export function chainFrom(chain: readonly string[], group: string | undefined): readonly string[] {
  if (group === undefined) return chain;
  const at = chain.indexOf(group);
  return at === -1 ? [group] : chain.slice(at);
}
