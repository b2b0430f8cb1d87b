/*
 * The approval gate's public surface: what the service module, the `leash`
 * CLI (`leash approvals list`) and tests build on. Free of NestJS (its module is
 * approval-gate.module.ts), so a client can load it as @leash/service-approvals/gate.
 */
export * from './approvals.config';
export * from './approvals.aggregates';
export * from './approval-gate';
export * from './approval-events';
export * from './approval-gate.factory';
export * from '../reviewers/reviewer';
export * from '../reviewers/reviewer-directory';
export * from '../reviewers/trusted-front-end';
export { checkVerdictProof, type ProofCheck } from '../record-verdict/check-verdict-proof';
export * from '../request-approval/request-approval.usecase';
export * from '../record-verdict/record-verdict.usecase';
export { editedActionId, keptValues } from '../record-verdict/edited-proposal';
export { checkEditedArguments } from '../record-verdict/check-edited-arguments';
export * from '../expire-approvals/expire-approvals.usecase';
export * from '../expire-approvals/approval-sweeper';
export * from '../close-task-approvals/close-task-approvals.usecase';
export * from '../list-pending-approvals/list-pending-approvals.query';
export * from '../list-pending-approvals/list-pending-approvals.usecase';
