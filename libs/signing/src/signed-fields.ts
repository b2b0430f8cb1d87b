import type { ToolArguments } from '@leash/contracts';
import type { z } from 'zod';
import { canonicalHash } from './canonical';
import type { SigningGate } from './gate-keys';

/*
 * What each gate signs. Every gate and the executor build these the same way
 * from the event in hand, so a field changed anywhere on the way fails the
 * check.
 */

export interface ActionIdentity {
  readonly tenantId: string;
  readonly taskId: string;
  readonly actionId: string;
  readonly tool: string;
  readonly arguments: z.infer<typeof ToolArguments>;
}

/** The hash of exactly this action: who, which tool, which arguments. Approvals bind to it. */
export function actionHash(action: ActionIdentity): string {
  return canonicalHash({
    tenantId: action.tenantId,
    taskId: action.taskId,
    actionId: action.actionId,
    tool: action.tool,
    arguments: action.arguments,
  });
}

/**
 * A policy decision's signed fields. The reviewer group is signed where the
 * policy named one, so nobody on the way can send the approval to a laxer
 * group; the tainted arguments (the gate's own finding, shown to reviewers)
 * where there are any, so nobody can hide them. A decision without either
 * signs exactly what it always did.
 */
export function decisionFields(
  action: ActionIdentity,
  route: string,
  policyVersion: number,
  approvalsRequired: number,
  reviewerGroup?: string,
  taintedArgs: readonly string[] = [],
): Record<string, unknown> {
  return {
    kind: 'policy-decision',
    action: actionHash(action),
    route,
    policyVersion,
    approvalsRequired,
    ...(reviewerGroup !== undefined ? { reviewerGroup } : {}),
    ...(taintedArgs.length > 0 ? { taintedArgs: [...taintedArgs].sort() } : {}),
  };
}

/** The fields a decision as it travels (`decision` of an action event) was signed over. */
export function decisionFieldsOf(
  action: ActionIdentity,
  decision: {
    readonly route: string;
    readonly policyVersion: number;
    readonly approvalsRequired: number;
    readonly reviewerGroup?: string;
    readonly taintedArgs?: readonly string[];
  },
): Record<string, unknown> {
  return decisionFields(
    action,
    decision.route,
    decision.policyVersion,
    decision.approvalsRequired,
    decision.reviewerGroup,
    decision.taintedArgs,
  );
}

export function grantFields(
  action: ActionIdentity,
  reservationId: string,
  reservedUsdMicros: number,
): Record<string, unknown> {
  return { kind: 'budget-grant', action: actionHash(action), reservationId, reservedUsdMicros };
}

export function approvalFields(
  action: ActionIdentity,
  approvalId: string,
  reviewers: readonly string[],
): Record<string, unknown> {
  return {
    kind: 'approval',
    action: actionHash(action),
    approvalId,
    reviewers: [...reviewers].sort(),
  };
}

/**
 * The approvals gate's rejection of an action it had put to reviewers
 * (rejected, edited, expired, or cancelled with its task): the budget frees
 * the action's reservation on it, so it must be the gate's own word.
 */
export function rejectionFields(action: ActionIdentity, code: string): Record<string, unknown> {
  return { kind: 'approval-rejection', action: actionHash(action), code };
}

/** Which gate signs each kind of signed fields: a key of any other gate cannot sign it. */
const SIGNER_OF_KIND: Readonly<Record<string, SigningGate>> = {
  'policy-decision': 'policy',
  'budget-grant': 'budget',
  approval: 'approvals',
  'approval-rejection': 'approvals',
};

export function signingGateOf(fields: Record<string, unknown>): SigningGate {
  const kind = fields.kind;
  const gate =
    typeof kind === 'string' && Object.hasOwn(SIGNER_OF_KIND, kind)
      ? SIGNER_OF_KIND[kind]
      : undefined;
  if (!gate) throw new Error(`no gate signs fields of kind ${JSON.stringify(fields.kind)}`);
  return gate;
}
