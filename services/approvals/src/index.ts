export { bootstrapApprovals } from './approvals.app';
export { APPROVALS, APPROVALS_ENV, type ApprovalsConfig } from './config';
export * from './gate';
export { ApprovalGateModule, APPROVAL_GATE } from './gate/approval-gate.module';
