export { bootstrapAudit } from './audit.app';
export { AUDIT, AUDIT_ENV, type AuditConfig } from './config';
