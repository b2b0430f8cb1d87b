export interface SetTenantTimeZoneCommand {
  readonly tenantId: string;
  /** An IANA zone, e.g. `Europe/Berlin`; the tenant's days start at its midnight. */
  readonly timeZone: string;
  /** The operator making the change, as the audit log names them. */
  readonly changedBy: string;
}
