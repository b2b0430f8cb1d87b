import { BASE_ENV, type ConfigOf } from '@leash/config';

export const AUDIT = 'audit';

/** The audit recorder's environment: the base variables only. It holds no key and checks no signature. */
export const AUDIT_ENV = BASE_ENV;

export type AuditConfig = ConfigOf<typeof AUDIT_ENV>;
