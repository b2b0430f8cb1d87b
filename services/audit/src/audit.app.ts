import { startService, type BootstrapOptions, type RunningService } from '@leash/service-runtime';
import { AuditModule } from './audit.module';
import { AUDIT, AUDIT_ENV, type AuditConfig } from './config';

/**
 * Starts the audit recorder on the bus: standalone (main.ts, its own engines
 * and store, which `leash audit` and `leash runs` read) or beside the
 * services on shared engines (the all-in-one launcher).
 */
export function bootstrapAudit(options?: BootstrapOptions): Promise<RunningService<AuditConfig>> {
  return startService({ name: AUDIT, env: AUDIT_ENV, module: AuditModule }, options);
}
