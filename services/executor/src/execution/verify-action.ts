import type { ActionAuthorizedV1, ActionFundedV1, Envelope } from '@leash/contracts';
import {
  approvalFields,
  decisionFieldsOf,
  grantFields,
  type ActionIdentity,
  type GateVerifier,
} from '@leash/signing';

/** An action as the executor receives it: funded (route allow) or authorized by reviewers. */
export type ExecutableEvent =
  Envelope<'leash.actions.funded.v1'> | Envelope<'leash.actions.authorized.v1'>;

export type ExecutableAction = ActionFundedV1 | ActionAuthorizedV1;

export type Verdict =
  | { readonly ok: true }
  /** Forged, altered, unsigned or unapproved: never runs, whatever else holds. */
  | { readonly ok: false; readonly code: 'invalid_signature'; readonly reason: string }
  /** Authentic but past its expiry: a new run is refused; a stored result may still be returned. */
  | { readonly ok: false; readonly code: 'expired'; readonly reason: string };

export function identityOf(event: ExecutableEvent): ActionIdentity | undefined {
  if (!event.tenantId || !event.taskId) return undefined;
  return {
    tenantId: event.tenantId,
    taskId: event.taskId,
    actionId: event.data.actionId,
    tool: event.data.tool,
    arguments: event.data.arguments,
  };
}

function approvalOf(action: ExecutableAction): ActionAuthorizedV1['approval'] | undefined {
  return 'approval' in action ? action.approval : undefined;
}

/**
 * Checks exactly what each gate signed, rebuilt from the event in hand: the
 * policy decision (tenant, task, action id, tool, arguments, route, policy
 * version, approvals required), the budget grant, and, where the route is
 * approve, an approval by at least `approvalsRequired` distinct reviewers.
 * Any field changed after signing fails its hash.
 */
export function verifyAction(event: ExecutableEvent, verifier: GateVerifier): Verdict {
  const identity = identityOf(event);
  if (!identity) {
    return {
      ok: false,
      code: 'invalid_signature',
      reason: 'the event names no tenant, so no signature can cover it',
    };
  }
  const action = event.data;
  const { decision, grant } = action;
  const checks: { what: string; failure?: string; reason?: string }[] = [];
  const check = (what: string, fields: Record<string, unknown>, signed: typeof decision.signed) => {
    const result = verifier.verify(fields, signed);
    checks.push({ what, ...(result.ok ? {} : { failure: result.failure, reason: result.reason }) });
  };

  check('the policy decision', decisionFieldsOf(identity, decision), decision.signed);
  check(
    'the budget grant',
    grantFields(identity, grant.reservationId, grant.reservedUsdMicros),
    grant.signed,
  );

  const approval = approvalOf(action);
  if (decision.route === 'approve' && !approval) {
    return {
      ok: false,
      code: 'invalid_signature',
      reason: 'the policy routes this action to a human and no approval is attached',
    };
  }
  if (approval) {
    check(
      'the approval',
      approvalFields(identity, approval.approvalId, approval.reviewers),
      approval.signed,
    );
  }

  const forged = checks.filter((c) => c.failure !== undefined && c.failure !== 'expired');
  if (forged.length > 0) {
    return {
      ok: false,
      code: 'invalid_signature',
      reason: forged.map((c) => `${c.what} ${c.reason!}`).join('; '),
    };
  }

  if (decision.route === 'approve' && approval) {
    // A reviewer counts once, however often their name appears.
    const distinct = new Set(approval.reviewers).size;
    const required = Math.max(1, decision.approvalsRequired);
    if (distinct < required) {
      return {
        ok: false,
        code: 'invalid_signature',
        reason: `the policy asks for ${required} distinct reviewers and the approval has ${distinct}`,
      };
    }
  }

  const expired = checks.filter((c) => c.failure === 'expired');
  if (expired.length > 0) {
    return {
      ok: false,
      code: 'expired',
      reason: `${expired.map((c) => c.what).join(' and ')} expired before the action ran; propose it again`,
    };
  }
  return { ok: true };
}
