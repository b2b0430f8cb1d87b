import type { ToolArguments } from '@leash/contracts';
import type { z } from 'zod';
import { canonicalHash } from './canonical';

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

export function decisionFields(
  action: ActionIdentity,
  route: string,
  policyVersion: number,
  approvalsRequired: number,
): Record<string, unknown> {
  return {
    kind: 'policy-decision',
    action: actionHash(action),
    route,
    policyVersion,
    approvalsRequired,
  };
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
