import {
  createEnvelope,
  type ApprovalDecidedV1,
  type Envelope,
  type VerdictEffect as VerdictEffectCode,
  type VerdictProvenBy,
} from '@leash/contracts';
import { approvalFields, verdictProofDigest, type ActionIdentity } from '@leash/signing';
import { transactionRetryingConflicts, type Transaction } from '@leash/store';
import {
  approvalRequests,
  verdictProofUses,
  verdictRecords,
  type ApprovalRequest,
  type VerdictRefusal,
} from '../gate/approvals.aggregates';
import { actionAuthorizedEvent, actionRejectedEvent } from '../gate/approval-events';
import { utcIso } from '@leash/clock';
import { killRefusal } from '@leash/kill-switch';
import { CONSUMERS, actionLine, appendHistory, type ApprovalGateDeps } from '../gate/approval-gate';
import { reviewerKey, reviewers } from '../reviewers/reviewer';
import { checkReviewer, type ReviewerCheck } from '../reviewers/reviewer-directory';
import { checkVerdictProof } from './check-verdict-proof';
import { editedProposal } from './edited-proposal';
import type { RecordVerdictCommand } from './record-verdict.command';

/** What an accepted verdict did; `counted`: an approval towards the quorum, more are needed. */
export type VerdictEffect = VerdictEffectCode;

export type RecordVerdictOutcome =
  | { readonly outcome: 'duplicate' }
  | { readonly outcome: 'refused'; readonly refusal: VerdictRefusal; readonly reason: string }
  | { readonly outcome: 'accepted'; readonly effect: VerdictEffect };

type Verdict = ApprovalDecidedV1;

type Refusal = { refusal: VerdictRefusal; reason: string };

function refusalOfCheck(check: ReviewerCheck): Refusal | undefined {
  return check.allowed ? undefined : { refusal: check.refusal, reason: check.reason };
}

/**
 * Records a reviewer's verdict. A verdict must name a pending request, its
 * exact action hash, prove who sent it (signed with the reviewer's key or by
 * a trusted front end, a proof never seen before), and come from a reviewer
 * of the request's group and tenant who may decide on the tool; anything
 * else is refused, recorded with the reason, and changes nothing. Any
 * allowed reviewer's reject or edit closes the request; approvals count
 * until enough distinct reviewers agree, and then the request is used:
 * later verdicts are refused.
 */
export class RecordVerdictUseCase {
  constructor(
    private readonly deps: Pick<
      ApprovalGateDeps,
      'store' | 'signer' | 'frontEnds' | 'clock' | 'source' | 'approvalValidityMs' | 'killSwitch'
    >,
  ) {}

  execute({ event }: RecordVerdictCommand): Promise<RecordVerdictOutcome> {
    return transactionRetryingConflicts(
      this.deps.store,
      async (tx): Promise<RecordVerdictOutcome> => {
        if (!(await tx.inbox.claim(CONSUMERS.approvalsDecided, event.id))) {
          return { outcome: 'duplicate' };
        }
        // The inbox forgets after a while; the audit does not. A verdict id is taken once.
        if (await tx.repository(verdictRecords).get(event.id)) return { outcome: 'duplicate' };
        const now = this.deps.clock.now();
        const stored = await tx.repository(approvalRequests).get(event.data.approvalId);
        const request = stored?.doc;
        const proven: { by?: VerdictProvenBy } = {};
        const refusal = request
          ? await this.refusalOf(tx, event, request, now, proven)
          : ((await this.replayOf(tx, event)) ?? {
              refusal: 'unknown_approval' as const,
              reason: `no approval request ${event.data.approvalId}`,
            });
        if (refusal) {
          await this.audit(tx, event, now, request, proven.by, refusal);
          return { outcome: 'refused', ...refusal };
        }
        const effect = await this.apply(tx, event, request!, stored!.version, now);
        await this.audit(tx, event, now, request, proven.by, undefined, effect);
        return { outcome: 'accepted', effect };
      },
    );
  }

  /** A proof already presented with another verdict: a copy, whatever it now claims. */
  private async replayOf(
    tx: Transaction,
    event: Envelope<'leash.approvals.decided.v1'>,
  ): Promise<Refusal | undefined> {
    const { proof } = event.data;
    if (!proof) return undefined;
    const used = await tx.repository(verdictProofUses).get(verdictProofDigest(proof));
    if (!used) return undefined;
    return {
      refusal: 'replayed',
      reason: `the proof was already presented at ${used.doc.at} with verdict ${used.doc.verdictId} of ${used.doc.reviewer} on ${used.doc.approvalId}`,
    };
  }

  private async refusalOf(
    tx: Transaction,
    event: Envelope<'leash.approvals.decided.v1'>,
    request: ApprovalRequest,
    now: number,
    proven: { by?: VerdictProvenBy },
  ): Promise<Refusal | undefined> {
    const verdict = event.data;
    const replayed = await this.replayOf(tx, event);
    if (replayed) return replayed;
    if (event.tenantId !== request.tenantId || event.taskId !== request.taskId) {
      return {
        refusal: 'tenant_mismatch',
        reason: `the verdict names tenant ${event.tenantId ?? '(none)'} and task ${event.taskId ?? '(none)'}, not the request's`,
      };
    }
    if (verdict.actionHash !== request.actionHash) {
      return {
        refusal: 'hash_mismatch',
        reason: `the verdict is bound to action hash ${verdict.actionHash}, not to the action in this request`,
      };
    }
    // Read at verdict time, in this transaction: a removal or a key revoked by any process holds.
    const entry = (
      await tx.repository(reviewers).get(reviewerKey(request.tenantId, verdict.reviewer))
    )?.doc;
    const question = {
      tenantId: request.tenantId,
      reviewer: verdict.reviewer,
      group: request.reviewerGroup,
      tool: request.funded.tool,
    };
    // A name nobody knows says more than that it has no key.
    if (!entry) return refusalOfCheck(checkReviewer(entry, question));
    const proof = checkVerdictProof(event, entry, this.deps.frontEnds);
    if (!proof.proven) return { refusal: proof.refusal, reason: proof.reason };
    proven.by = proof.provenBy;
    // A genuine proof is spent now, whatever becomes of this verdict: it never counts again.
    await tx.repository(verdictProofUses).insert({
      digest: verdictProofDigest(verdict.proof!),
      verdictId: event.id,
      approvalId: verdict.approvalId,
      reviewer: verdict.reviewer,
      at: utcIso(now),
    });
    switch (request.status) {
      case 'pending':
        break;
      case 'authorized':
        return { refusal: 'already_used', reason: 'the approval was already given and used' };
      case 'expired':
        return { refusal: 'expired', reason: `the request expired at ${request.expiresAt}` };
      default:
        return {
          refusal: 'closed',
          reason: `the request is closed (${request.status}${request.closedReason ? `: ${request.closedReason}` : ''})`,
        };
    }
    if (request.expiresAt <= utcIso(now)) {
      // The sweeper denies or escalates it; a late answer does not race it.
      return { refusal: 'expired', reason: `the request expired at ${request.expiresAt}` };
    }
    const check = checkReviewer(entry, question);
    if (!check.allowed) return refusalOfCheck(check);
    if (
      verdict.verdict === 'approve' &&
      request.approvals.some((a) => a.reviewer === verdict.reviewer)
    ) {
      return {
        refusal: 'duplicate_reviewer',
        reason: `${verdict.reviewer} already approved; ${request.reviewersRequired} distinct reviewers are required`,
      };
    }
    // An approval would authorize the action and an edit would propose new work; a reject
    // only closes the request, which a kill does not forbid. The request stays pending
    // otherwise: after a resume it can still be decided, or it expires.
    if (verdict.verdict !== 'reject') {
      const kill = this.deps.killSwitch?.covering({
        tenantId: request.tenantId,
        agent: request.funded.agent.name,
        taskId: request.taskId,
      });
      if (kill) {
        return {
          refusal: 'killed',
          reason: killRefusal(kill, `no ${verdict.verdict} of it is taken`),
        };
      }
    }
    return undefined;
  }

  private async apply(
    tx: Transaction,
    event: Envelope<'leash.approvals.decided.v1'>,
    request: ApprovalRequest,
    version: number,
    now: number,
  ): Promise<VerdictEffect> {
    const verdict = event.data;
    const at = utcIso(now);
    const requests = tx.repository(approvalRequests);
    const { tenantId, taskId, funded } = request;
    const line = actionLine(funded);
    const rejectedAttributes = {
      tenantId,
      taskId,
      id: `actions.rejected:${request.approvalId}`,
      source: this.deps.source,
      time: at,
    };

    switch (verdict.verdict) {
      case 'approve': {
        const approvals = [
          ...request.approvals,
          {
            reviewer: verdict.reviewer,
            verdictId: event.id,
            at,
            ...(verdict.comment !== undefined ? { comment: verdict.comment } : {}),
          },
        ];
        if (approvals.length < request.reviewersRequired) {
          await requests.update({ ...request, approvals }, version);
          await appendHistory(
            tx,
            tenantId,
            taskId,
            `${line}: approved by ${verdict.reviewer} (${approvals.length} of ${request.reviewersRequired})`,
            now,
          );
          return 'counted';
        }
        const reviewers = approvals.map((a) => a.reviewer).sort();
        const identity: ActionIdentity = {
          tenantId,
          taskId,
          actionId: funded.actionId,
          tool: funded.tool,
          arguments: funded.arguments,
        };
        const signed = this.deps.signer.sign(
          approvalFields(identity, request.approvalId, reviewers),
          new Date(now + this.deps.approvalValidityMs),
        );
        await requests.update(
          {
            ...request,
            approvals,
            status: 'authorized',
            closedAt: at,
            closedReason: `approved by ${reviewers.join(', ')}`,
          },
          version,
        );
        await appendHistory(
          tx,
          tenantId,
          taskId,
          `${line}: approved by ${reviewers.join(', ')}`,
          now,
        );
        await tx.outbox.enqueue(
          'actions.authorized',
          actionAuthorizedEvent(
            request,
            { approvalId: request.approvalId, reviewers, signed },
            this.deps.source,
            at,
          ),
        );
        return 'authorized';
      }
      case 'reject': {
        await requests.update(
          {
            ...request,
            status: 'rejected',
            closedAt: at,
            closedReason: `rejected by ${verdict.reviewer}`,
          },
          version,
        );
        await appendHistory(
          tx,
          tenantId,
          taskId,
          `${line}: rejected by ${verdict.reviewer}: ${verdict.feedback}`,
          now,
        );
        await tx.outbox.enqueue(
          'actions.rejected',
          actionRejectedEvent(
            funded,
            rejectedAttributes,
            {
              code: 'approval_rejected',
              reason: `reviewer ${verdict.reviewer} rejected ${funded.tool}: ${verdict.feedback}`,
              feedback: verdict.feedback,
            },
            { signer: this.deps.signer, now },
          ),
        );
        return 'rejected';
      }
      case 'edit': {
        const proposal = editedProposal({
          tenantId,
          taskId,
          funded,
          verdictId: event.id,
          reviewer: verdict.reviewer,
          arguments: verdict.arguments,
          ...(verdict.comment !== undefined ? { comment: verdict.comment } : {}),
          source: this.deps.source,
          time: at,
        });
        const replacedBy = proposal.data.actionId;
        await requests.update(
          {
            ...request,
            status: 'edited',
            closedAt: at,
            closedReason: `edited by ${verdict.reviewer}`,
            replacedBy,
          },
          version,
        );
        await appendHistory(
          tx,
          tenantId,
          taskId,
          `${line}: arguments edited by ${verdict.reviewer}, proposed again as ${replacedBy}`,
          now,
        );
        // The old action is closed first, so the planner learns of the replacement before its fate.
        await tx.outbox.enqueue(
          'actions.rejected',
          actionRejectedEvent(
            funded,
            rejectedAttributes,
            {
              code: 'edited',
              reason: `reviewer ${verdict.reviewer} edited the arguments of ${funded.tool}; action ${replacedBy} is proposed in its place and goes through policy and budget again`,
              ...(verdict.comment !== undefined ? { feedback: verdict.comment } : {}),
              replacedBy,
            },
            { signer: this.deps.signer, now },
          ),
        );
        await tx.outbox.enqueue('actions.proposed', proposal);
        return 'edited';
      }
    }
  }

  private async audit(
    tx: Transaction,
    event: Envelope<'leash.approvals.decided.v1'>,
    now: number,
    request: ApprovalRequest | undefined,
    provenBy: VerdictProvenBy | undefined,
    refused?: Refusal,
    effect?: VerdictEffect,
  ): Promise<void> {
    const verdict: Verdict = event.data;
    const reason = refused ? refused.reason : (effect ?? 'accepted');
    await tx.repository(verdictRecords).insert({
      verdictId: event.id,
      approvalId: verdict.approvalId,
      ...(event.tenantId !== undefined ? { tenantId: event.tenantId } : {}),
      ...(event.taskId !== undefined ? { taskId: event.taskId } : {}),
      ...(request
        ? {
            actionId: request.actionId,
            tool: request.funded.tool,
            reviewerGroup: request.reviewerGroup,
          }
        : {}),
      reviewer: verdict.reviewer,
      verdict: verdict.verdict,
      actionHash: verdict.actionHash,
      outcome: refused ? 'refused' : 'accepted',
      ...(refused ? { refusal: refused.refusal } : {}),
      reason,
      ...(provenBy ? { provenBy } : {}),
      source: event.source,
      receivedAt: utcIso(now),
    });
    // The task's audit log hears what became of the verdict, not only that it was sent. A verdict
    // that names no task has no partition key; the record above is all there is of it.
    if (event.taskId === undefined) return;
    await tx.outbox.enqueue(
      'approvals.verdicts',
      createEnvelope(
        'leash.approvals.verdict_recorded.v1',
        {
          approvalId: verdict.approvalId,
          verdictId: event.id,
          reviewer: verdict.reviewer,
          verdict: verdict.verdict,
          ...(refused
            ? { outcome: 'refused' as const, refusal: refused.refusal }
            : { outcome: 'accepted' as const, effect: effect ?? 'counted' }),
          reason,
          ...(request
            ? {
                actionId: request.actionId,
                tool: request.funded.tool,
                reviewerGroup: request.reviewerGroup,
              }
            : {}),
          ...(provenBy ? { provenBy } : {}),
        },
        {
          id: `approvals.verdicts:${event.id}`,
          source: this.deps.source,
          ...(event.tenantId !== undefined ? { tenantId: event.tenantId } : {}),
          taskId: event.taskId,
          time: utcIso(now),
        },
      ),
    );
  }
}
