import {
  createEnvelope,
  type ActionFundedV1,
  type Approval,
  type Envelope,
  type RejectionCode,
} from '@leash/contracts';
import { rejectionFields, type GateSigner } from '@leash/signing';
import type { ApprovalRequest } from './approvals.aggregates';

/*
 * The events the gate publishes, built from its state. Ids are derived from
 * what caused them, so a transaction run twice enqueues the same event and
 * consumers drop the copy.
 */

export function approvalRequestedEvent(
  request: ApprovalRequest,
  source: string,
): Envelope<'leash.approvals.requested.v1'> {
  const funded = request.funded;
  return createEnvelope(
    'leash.approvals.requested.v1',
    {
      approvalId: request.approvalId,
      actionId: request.actionId,
      actionHash: request.actionHash,
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
      },
      reservedUsdMicros: funded.grant.reservedUsdMicros,
      history: request.history.slice(-200),
      reviewersRequired: request.reviewersRequired,
      reviewerGroup: request.reviewerGroup,
      expiresAt: request.expiresAt,
    },
    {
      id: `approvals.requested:${request.approvalId}`,
      source,
      tenantId: request.tenantId,
      taskId: request.taskId,
      time: request.requestedAt,
    },
  );
}

export interface Rejection {
  readonly code: RejectionCode;
  readonly reason: string;
  readonly feedback?: string;
  readonly replacedBy?: string;
}

/**
 * The codes by which this gate tells the budget that an action it put to
 * reviewers will never run, so its reservation is freed. The gate signs
 * these with its own key: the budget frees nothing on anyone else's word.
 */
export const RELEASING_CODES: ReadonlySet<RejectionCode> = new Set([
  'approval_rejected',
  'approval_expired',
  'edited',
  'task_finished',
]);

/**
 * How long the signature of a rejection holds: past any reservation's
 * deadline (after which the budget has charged it and frees nothing), so a
 * budget that was down for a while still frees what reviewers stopped.
 */
export const REJECTION_SIGNATURE_TTL_MS = 7 * 24 * 3_600_000;

/** Signs a releasing rejection; present only where the gate vouches for the action it names. */
export interface RejectionSigning {
  readonly signer: GateSigner;
  readonly now: number;
}

export function actionRejectedEvent(
  action: Pick<ActionFundedV1, 'actionId' | 'agent' | 'tool' | 'arguments' | 'versions'>,
  attributes: { tenantId: string; taskId: string; id: string; source: string; time: string },
  rejection: Rejection,
  signing?: RejectionSigning,
): Envelope<'leash.actions.rejected.v1'> {
  const signed =
    signing && RELEASING_CODES.has(rejection.code)
      ? signing.signer.sign(
          rejectionFields(
            {
              tenantId: attributes.tenantId,
              taskId: attributes.taskId,
              actionId: action.actionId,
              tool: action.tool,
              arguments: action.arguments,
            },
            rejection.code,
          ),
          new Date(signing.now + REJECTION_SIGNATURE_TTL_MS),
        )
      : undefined;
  return createEnvelope(
    'leash.actions.rejected.v1',
    {
      actionId: action.actionId,
      agent: action.agent,
      tool: action.tool,
      gate: 'approvals',
      code: rejection.code,
      reason: rejection.reason.slice(0, 10_000),
      ...(rejection.feedback !== undefined ? { feedback: rejection.feedback } : {}),
      ...(rejection.replacedBy !== undefined ? { replacedBy: rejection.replacedBy } : {}),
      ...(signed ? { signed } : {}),
      versions: action.versions,
    },
    attributes,
  );
}

export function actionAuthorizedEvent(
  request: ApprovalRequest,
  approval: Approval,
  source: string,
  time: string,
): Envelope<'leash.actions.authorized.v1'> {
  return createEnvelope(
    'leash.actions.authorized.v1',
    { ...request.funded, approval },
    {
      id: `actions.authorized:${request.approvalId}`,
      source,
      tenantId: request.tenantId,
      taskId: request.taskId,
      time,
    },
  );
}

/** The rejection of a request's action, in the request's tenant and task. */
export function requestRejectedEvent(
  request: ApprovalRequest,
  attributes: { id: string; source: string; time: string },
  rejection: Rejection,
  signing: RejectionSigning,
): Envelope<'leash.actions.rejected.v1'> {
  return actionRejectedEvent(
    request.funded,
    { tenantId: request.tenantId, taskId: request.taskId, ...attributes },
    rejection,
    signing,
  );
}
